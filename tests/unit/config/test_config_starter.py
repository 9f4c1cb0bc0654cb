"""The commented starter file that `sidecar init` writes must load as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ConfigError, load_settings, render_starter


def test_starter_loads_without_errors_when_the_token_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(render_starter())
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "abc123")

    settings = load_settings(path)

    assert settings.lms.url == "https://lms.example.org"
    assert settings.lms.resolved_token is not None
    assert settings.store.url == f"sqlite:///{tmp_path}/sidecar.sqlite"


def test_starter_without_a_token_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sidecar.yaml"
    path.write_text(render_starter())

    with pytest.raises(ConfigError, match="SIDECAR_LMS__TOKEN"):
        load_settings(path)


def test_starter_with_the_site_url_filled_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = render_starter("https://moodle.acme.test/learn/")
    path = tmp_path / "sidecar.yaml"
    path.write_text(text)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "abc123")

    assert load_settings(path).lms.url == "https://moodle.acme.test/learn"
    assert 'lms.example.org"' not in text
    # Only the value changed; the explanations are all still there.
    assert len(text.splitlines()) == len(render_starter().splitlines())


def test_starter_refuses_a_url_that_is_not_a_site_root() -> None:
    with pytest.raises(ConfigError, match="not the web-service endpoint"):
        render_starter("https://lms.example.org/webservice/rest/server.php")


def test_starter_holds_no_secret_values() -> None:
    data = yaml.safe_load(render_starter())

    assert "token" not in data["lms"]
    assert "password" not in data["lms"]
    assert "export SIDECAR_LMS__TOKEN=" in render_starter()
