"""Loading from the YAML file and the environment, and the messages an admin sees when it fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from config import (
    ConfigError,
    ConfigFileError,
    ConfigValidationError,
    Settings,
    find_config_path,
    load_settings,
)

Write = Callable[..., Path]

MINIMAL = "lms:\n  url: https://lms.example.org\n"


def problems_of(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return str(excinfo.value).splitlines()[1:]


# --- finding and loading --------------------------------------------------------------------------


def test_loads_sidecar_yaml_from_the_current_folder(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(MINIMAL)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    settings = load_settings()

    assert isinstance(settings, Settings)
    assert settings.lms.url == "https://lms.example.org"
    assert settings.config_file == path


def test_explicit_path_beats_sidecar_config_env(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = write_config("lms:\n  url: https://chosen.example.org\n", "a/chosen.yaml")
    other = write_config("lms:\n  url: https://other.example.org\n", "b/other.yaml")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")
    monkeypatch.setenv("SIDECAR_CONFIG", str(other))

    assert load_settings().lms.url == "https://other.example.org"
    assert load_settings(chosen).lms.url == "https://chosen.example.org"
    assert load_settings(str(chosen)).config_file == chosen
    assert find_config_path() == other


def test_defaults_fill_everything_not_in_the_file(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(MINIMAL)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    settings = load_settings()

    assert settings.lms.timeout.read == 30.0
    assert settings.lms.format == "json"
    assert settings.logging.level == "INFO"


def test_environment_overrides_nested_keys_of_the_file(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        "lms:\n  url: https://file.example.org\n  timeout:\n    connect: 2\n    read: 10\n"
        "logging:\n  level: WARNING\n"
    )
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")
    monkeypatch.setenv("SIDECAR_LMS__URL", "https://env.example.org/")
    monkeypatch.setenv("SIDECAR_LMS__TIMEOUT__READ", "99")
    monkeypatch.setenv("SIDECAR_LOGGING__JSON", "true")
    monkeypatch.setenv("SIDECAR_FEATURES__GOALS", "false")

    settings = load_settings()

    assert settings.lms.url == "https://env.example.org"
    assert settings.lms.timeout.read == 99.0
    assert settings.lms.timeout.connect == 2.0  # the file's sibling value survives
    assert settings.logging.level == "WARNING"
    assert settings.logging.json_lines is True
    assert settings.features.goals is False


def test_token_file_relative_to_the_config_folder(
    write_config: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(MINIMAL + "  token_file: secrets/token\n", "etc/sidecar.yaml")
    (path.parent / "secrets").mkdir()
    (path.parent / "secrets" / "token").write_text("abc123\n")
    monkeypatch.chdir(tmp_path)  # not the config folder

    settings = load_settings(path)

    assert settings.lms.token_file == path.parent / "secrets" / "token"
    assert settings.lms.resolved_token is not None
    assert settings.lms.resolved_token.get_secret_value() == "abc123"


def test_relative_sqlite_store_lives_beside_the_config_file(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")
    default = write_config(MINIMAL, "one/sidecar.yaml")
    relative = write_config(MINIMAL + "store:\n  url: sqlite:///data/s.db\n", "two/sidecar.yaml")
    postgres = write_config(
        MINIMAL + "store:\n  url: postgresql+psycopg://u@db/x\n", "three/sidecar.yaml"
    )

    assert load_settings(default).store.url == f"sqlite:///{default.parent}/sidecar.sqlite"
    assert load_settings(relative).store.url == f"sqlite:///{relative.parent}/data/s.db"
    assert load_settings(postgres).store.url == "postgresql+psycopg://u@db/x"
    monkeypatch.setenv("SIDECAR_STORE__URL", "sqlite:////var/lib/s.db")
    assert load_settings(default).store.url == "sqlite:////var/lib/s.db"


# --- secrets ----------------------------------------------------------------------------------


def test_token_written_in_the_file_is_refused_without_echoing_it(write_config: Write) -> None:
    path = write_config(MINIMAL + "  token: 9f8e7d6c5b4a\n")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    message = str(excinfo.value)
    assert "9f8e7d6c5b4a" not in message
    assert str(path) in message
    assert "line 3, lms.token:" in message
    assert "SIDECAR_LMS__TOKEN" in message
    assert "lms.token_file" in message


def test_password_in_the_file_is_refused_and_masked_even_when_invalid(write_config: Write) -> None:
    write_config(MINIMAL + "  username: bob\n  password: [hunter2]\n")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    message = str(excinfo.value)
    assert "hunter2" not in message
    assert "line 4, lms.password: secrets must not be written" in message
    assert "SIDECAR_LMS__PASSWORD" in message
    assert "lms.password_file" in message


def test_unreadable_token_file_names_the_path(write_config: Write, tmp_path: Path) -> None:
    write_config(MINIMAL + "  token_file: missing-token\n")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert problems_of(excinfo) == [
        f"  line 3, lms.token_file: could not read the token file {tmp_path / 'missing-token'}: "
        "No such file or directory"
    ]


def test_no_credentials_at_all(write_config: Write) -> None:
    write_config(MINIMAL)

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    [problem] = problems_of(excinfo)
    assert problem.startswith("  line 1, lms: no credentials: set the environment variable")
    assert "SIDECAR_LMS__TOKEN" in problem


# --- error messages -----------------------------------------------------------------------------


def test_every_problem_is_listed_with_line_key_value_and_expectation(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(
        "lms:\n"
        "  url: https://lms.example.org\n"
        "  format: yaml\n"
        "  timeout:\n"
        "    read: soon\n"
        "  concurrency: 0\n"
        "  max_input_vars: 12.5\n"
        "  verify_tls: maybe\n"
        "logging:\n"
        "  level: LOUD\n"
    )
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert str(excinfo.value).splitlines() == [
        f"Invalid configuration in {path} (6 problems):",
        "  line 3, lms.format: expected one of json, xml, got 'yaml'",
        "  line 5, lms.timeout.read: expected a number, got 'soon'",
        "  line 6, lms.concurrency: expected a number of at least 1, got 0",
        "  line 7, lms.max_input_vars: expected a whole number, got 12.5",
        "  line 8, lms.verify_tls: expected true or false, got 'maybe'",
        "  line 10, logging.level: expected one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'",
    ]
    assert [p.key for p in excinfo.value.problems][:2] == ["lms.format", "lms.timeout.read"]


def test_typos_get_a_suggestion(write_config: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(MINIMAL + "  timout:\n    read: 5\nfeaturs:\n  goals: false\nzzz: 1\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    problems = problems_of(excinfo)
    assert problems[:2] == [
        "  line 3, lms.timout: unknown key; did you mean 'timeout'?",
        "  line 5, featurs: unknown key; did you mean 'features'?",
    ]
    sections = ", ".join(Settings.model_fields)  # every section, in the model's order
    assert problems[2] == f"  line 7, zzz: unknown key; the keys here are {sections}"


def test_a_bad_value_from_the_environment_names_the_variable(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(MINIMAL + "  timeout:\n    read: 10\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")
    monkeypatch.setenv("SIDECAR_LMS__TIMEOUT__READ", "-3")
    monkeypatch.setenv("SIDECAR_LMS__RETRIES__ATEMPTS", "3")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert problems_of(excinfo) == [
        "  environment variable SIDECAR_LMS__TIMEOUT__READ, lms.timeout.read: "
        "expected a number greater than 0, got '-3'",
        "  environment variable SIDECAR_LMS__RETRIES__ATEMPTS, lms.retries.atempts: "
        "unknown key; did you mean 'attempts'?",
    ]


def test_a_section_given_a_single_value(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(MINIMAL + "  timeout: 30\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert problems_of(excinfo) == [
        "  line 3, lms.timeout: expected a section of keys (connect, read), not a single value, "
        "got 30"
    ]


def test_missing_url(write_config: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config("lms:\n  kind: moodle\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    [problem] = problems_of(excinfo)
    assert problem.startswith("  lms.url: required, but not set (address of the site root")


def test_key_written_twice(write_config: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(MINIMAL + "  url: https://other.example.org\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert problems_of(excinfo) == ["  line 3, lms.url: written twice (first at line 2); keep one"]


def test_section_env_var_that_is_not_json(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(MINIMAL)
    monkeypatch.setenv("SIDECAR_LMS__TIMEOUT", "{read: 5")

    with pytest.raises(ConfigValidationError, match="SIDECAR_LMS holds a value that is not valid"):
        load_settings()


# --- the file itself ---------------------------------------------------------------------------


def test_missing_default_file_suggests_sidecar_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as excinfo:
        load_settings()

    message = str(excinfo.value)
    assert f"Config file {tmp_path / 'sidecar.yaml'} not found" in message
    assert "sidecar init" in message
    assert "--config" in message


def test_missing_file_named_by_env_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_CONFIG", str(tmp_path / "nope.yaml"))

    with pytest.raises(ConfigFileError, match="named by the environment variable SIDECAR_CONFIG"):
        load_settings()


def test_config_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="is a folder"):
        load_settings(tmp_path)


def test_yaml_syntax_error_names_line_and_column(write_config: Write) -> None:
    path = write_config("lms:\n  url: https://lms.example.org\n  format: [json\n")

    with pytest.raises(ConfigFileError) as excinfo:
        load_settings()

    first = str(excinfo.value).splitlines()[0]
    assert first.startswith(f"Config file {path} is not valid YAML, line 4, column 1:")
    assert "Traceback" not in str(excinfo.value)


def test_tabs_get_a_hint(write_config: Write) -> None:
    write_config("lms:\n\turl: https://lms.example.org\n")

    with pytest.raises(ConfigFileError) as excinfo:
        load_settings()

    assert "line 2, column 1" in str(excinfo.value)
    assert "indent with spaces" in str(excinfo.value)


def test_file_that_is_a_list(write_config: Write) -> None:
    write_config("- lms\n- url\n")

    with pytest.raises(ConfigFileError, match=r"must hold sections of keys .* but it holds a list"):
        load_settings()


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file_says_what_is_missing(write_config: Write, text: str) -> None:
    write_config(text)

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    lines = str(excinfo.value).splitlines()
    assert lines[1] == "  lms: required, but not set (the LMS site and how to sign in to it)"
    assert "empty" in lines[-1]
    assert "sidecar init" in lines[-1]


def test_empty_file_is_fine_when_the_environment_has_everything(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config("")
    monkeypatch.setenv("SIDECAR_LMS__URL", "https://lms.example.org")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    assert load_settings().lms.url == "https://lms.example.org"


def test_unreadable_file(write_config: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(MINIMAL)

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)

    with pytest.raises(ConfigFileError) as excinfo:
        load_settings()

    assert str(excinfo.value) == f"Could not read config file {path}: Permission denied."


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "sidecar.yaml").write_bytes(b"lms:\n  url: \xff\xfe\n")

    with pytest.raises(ConfigFileError, match="not UTF-8"):
        load_settings()


def test_keys_that_yaml_would_read_as_booleans_or_numbers_stay_names(
    write_config: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(MINIMAL + "features:\n  on: true\n1: x\n")
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t")

    with pytest.raises(ConfigValidationError) as excinfo:
        load_settings()

    assert [line.split(":")[0] for line in problems_of(excinfo)] == [
        "  line 4, features.on",
        "  line 5, 1",
    ]


def test_unsafe_yaml_tags_are_refused(write_config: Write) -> None:
    write_config("lms:\n  url: !!python/object/apply:os.system [echo hi]\n")

    with pytest.raises(
        ConfigFileError, match="line 2, column 8: could not determine a constructor"
    ):
        load_settings()
