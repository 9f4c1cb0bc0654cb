from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.connector.conftest import BASE, TOKEN


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config for the mocked site, the token in the environment, the store in tmp_path."""
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", TOKEN)
    path = tmp_path / "sidecar.yaml"
    path.write_text(
        f"lms:\n  url: {BASE}\n  retries:\n    attempts: 2\n    backoff: 0\n"
        "store:\n  url: sqlite:///state.sqlite\n"
    )
    return path
