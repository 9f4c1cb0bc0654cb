"""The Settings models built directly (no file), as other tests in the project build them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from config import LmsSettings, Settings, render_starter
from config.errors import model_at
from config.loader import env_var_for, secret_keys


def make(**lms: object) -> Settings:
    return Settings(lms={"url": "https://lms.example.org", **lms})


def test_defaults_when_only_url_and_token_are_given() -> None:
    settings = make(token="abc123")

    assert settings.lms.kind == "moodle"
    assert settings.lms.service == "lms_sidecar"
    assert settings.lms.format == "json"
    assert (settings.lms.timeout.connect, settings.lms.timeout.read) == (5.0, 30.0)
    assert settings.lms.retries.attempts == 5
    assert settings.lms.retries.backoff == 0.5
    assert settings.lms.retries.max_backoff == 30.0
    assert settings.lms.max_input_vars == 1000
    assert settings.lms.concurrency == 4
    assert settings.lms.rate_limit is None
    assert settings.lms.verify_tls is True
    assert settings.store.url == "sqlite:///sidecar.sqlite"
    assert settings.features.frameworks and settings.features.goals
    assert settings.features.skills_map and settings.features.followups
    assert settings.logging.level == "INFO"
    assert settings.logging.json_lines is False
    assert settings.config_file is None


def test_token_given_directly_is_the_resolved_token() -> None:
    settings = make(token="abc123")

    assert settings.lms.auth == "token"
    assert settings.lms.resolved_token is not None
    assert settings.lms.resolved_token.get_secret_value() == "abc123"


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "from-env")

    settings = make()

    assert settings.lms.resolved_token is not None
    assert settings.lms.resolved_token.get_secret_value() == "from-env"


def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("  t0ken \n")

    settings = make(token_file=tmp_path / "token")

    assert settings.lms.resolved_token is not None
    assert settings.lms.resolved_token.get_secret_value() == "t0ken"


def test_username_and_password_file(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")

    lms = make(username="sidecar", password_file=tmp_path / "pw").lms

    assert lms.auth == "password"
    assert lms.resolved_token is None
    assert lms.resolved_password is not None
    assert lms.resolved_password.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("lms", "expected"),
    [
        ({}, "no credentials"),
        ({"token": "a", "username": "u", "password": "p"}, "keep one way of signing in"),
        ({"username": "u"}, "no password for this user"),
        ({"password": "p"}, "no username"),
    ],
)
def test_exactly_one_way_of_signing_in(lms: dict[str, str], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        make(**lms)


def test_token_and_token_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("b")

    with pytest.raises(ValidationError, match="set twice"):
        make(token="a", token_file=tmp_path / "token")


def test_empty_token_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")

    with pytest.raises(ValidationError, match="is empty"):
        make(token_file=tmp_path / "token")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://lms.example.org/", "https://lms.example.org"),
        ("http://localhost:8080/moodle/", "http://localhost:8080/moodle"),
        ("  https://lms.example.org  ", "https://lms.example.org"),
    ],
)
def test_site_url_loses_its_trailing_slash(given: str, kept: str) -> None:
    assert make(token="t", url=given).lms.url == kept


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("lms.example.org", "http(s) address"),
        ("ftp://lms.example.org", "http(s) address"),
        ("https://lms.example.org/webservice/rest/server.php", "use https://lms.example.org"),
        ("https://lms.example.org/?lang=en", "without ?query"),
    ],
)
def test_bad_site_urls_are_refused(url: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(expected)):
        make(token="t", url=url)


def test_unknown_keys_are_refused_in_every_section() -> None:
    with pytest.raises(ValidationError, match="timout"):
        make(token="t", timout={"read": 3})
    with pytest.raises(ValidationError, match="colour"):
        Settings(lms={"url": "https://x.org", "token": "t"}, logging={"colour": True})


def test_secrets_never_appear_in_repr_or_str(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token-value")
    by_token = make(token="direct-token-value")
    by_file = make(token_file=tmp_path / "token")
    by_password = make(username="u", password="password-value")

    for settings, secret in [
        (by_token, "direct-token-value"),
        (by_file, "file-token-value"),
        (by_password, "password-value"),
    ]:
        for text in (repr(settings), str(settings), repr(settings.lms), str(settings.lms)):
            assert secret not in text
        assert secret not in settings.model_dump_json()


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, object]]:
    found = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        found.append((key, name, info))
        section = model_at(model, (name,))
        if section is not None:
            found.extend(_fields(section, f"{key}."))
    return found


def test_every_field_is_described_for_the_config_reference() -> None:
    undocumented = [key for key, _, info in _fields(Settings) if not info.description]  # type: ignore[attr-defined]
    assert undocumented == []


def test_every_key_is_explained_in_the_starter_file() -> None:
    starter = render_starter()
    secrets = {".".join(key) for key in secret_keys()}
    missing = [
        key
        for key, _, _ in _fields(Settings)
        if key not in secrets and f"{key.split('.')[-1]}:" not in starter
    ]
    assert missing == []
    # Secrets appear only as the environment variable to set.
    assert secrets == {"lms.token", "lms.password", "lms.client_secret", "followups.coach.token",
                       "followups.link_secret", "webhooks.sidecar.secrets",
                       "webhooks.totara.secrets", "webhooks.moodle.secrets",
                       "webhooks.tool_trigger.secrets", "admin.password",
                       "admin.session_key"}
    for key in secrets:
        assert env_var_for(tuple(key.split("."))) in starter


def test_lms_settings_forbid_extra_keys_on_their_own() -> None:
    with pytest.raises(ValidationError):
        LmsSettings(url="https://x.org", token="t", tokn="x")  # type: ignore[call-arg]


def test_sync_schedule_must_be_a_cron_expression() -> None:
    from config.settings import SyncSettings

    assert SyncSettings(schedule="30 1 * * 1-5").schedule == "30 1 * * 1-5"
    assert SyncSettings(schedule=None).schedule is None
    with pytest.raises(ValidationError, match="cron expression"):
        SyncSettings(schedule="every night")
    with pytest.raises(ValidationError, match="time zone"):
        SyncSettings(timezone="Mars/Olympus")
