"""lms.kind: totara: an API client id and secret (env or file only), and the totara section."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config import ConfigValidationError, Settings, load_settings


def make(**lms: object) -> Settings:
    return Settings(lms={"url": "https://totara.example.org", "kind": "totara", **lms})


def test_totara_needs_a_client_id_and_secret() -> None:
    settings = make(client_id="sidecar", client_secret="s3cret")
    assert settings.lms.resolved_client_secret is not None
    assert settings.lms.resolved_client_secret.get_secret_value() == "s3cret"
    assert settings.lms.resolved_token is None
    assert "s3cret" not in repr(settings)


def test_a_token_is_optional_on_totara_for_the_legacy_web_services() -> None:
    settings = make(client_id="sidecar", client_secret="s3cret", token="legacy")
    assert settings.lms.resolved_token is not None


@pytest.mark.parametrize(("lms", "words"), [
    ({}, "set lms.client_id"),
    ({"client_id": "sidecar"}, "SIDECAR_LMS__CLIENT_SECRET"),
    ({"client_id": "sidecar", "client_secret": "x", "username": "admin"}, "API client"),
])
def test_missing_or_mixed_totara_credentials_say_what_to_set(lms, words) -> None:
    with pytest.raises(ValidationError, match=words):
        make(**lms)


def test_the_client_secret_comes_from_a_file_or_the_environment(tmp_path: Path,
                                                               monkeypatch) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("from-file\n")
    assert make(client_id="c", client_secret_file=secret).lms.resolved_client_secret \
        .get_secret_value() == "from-file"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="set twice"):
        make(client_id="c", client_secret_file=secret, client_secret="env")
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", "from-env")
    assert make(client_id="c").lms.resolved_client_secret.get_secret_value() == "from-env"  # type: ignore[union-attr]


def test_a_client_secret_written_in_the_file_is_refused(write_config) -> None:
    path = write_config("lms:\n  kind: totara\n  url: https://t.example.org\n"
                        "  client_id: c\n  client_secret: written-here\n")
    with pytest.raises(ConfigValidationError) as info:
        load_settings(path)
    assert "written-here" not in str(info.value)
    assert "SIDECAR_LMS__CLIENT_SECRET" in str(info.value)


def test_the_totara_section_resolves_the_hr_import_folder_next_to_the_file(write_config,
                                                                          monkeypatch) -> None:
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", "s")
    path = write_config("lms:\n  kind: totara\n  url: https://t.example.org\n  client_id: c\n"
                        "totara:\n  hr_import_dir: hrimport\n  release: '18'\n")
    settings = load_settings(path)
    assert settings.totara.hr_import_dir == path.parent / "hrimport"
    assert settings.totara.release == "18"
    assert settings.totara.hr_import_prefix == "competency"
