"""`sidecar init` writes a starter config that `sidecar` then accepts."""

from config import load_settings
from sidecar.cli import cli


def test_init_writes_a_starter_that_loads(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", "t0k3n")
    target = tmp_path / "sidecar.yaml"
    result = runner.invoke(cli, ["init", str(target), "--url", "https://lms.example.org/"])
    assert result.exit_code == 0, result.output
    assert "SIDECAR_LMS__TOKEN" in result.output
    settings = load_settings(target)
    assert settings.lms.url == "https://lms.example.org"
    assert "t0k3n" not in target.read_text()


def test_init_refuses_to_overwrite_without_force(runner, tmp_path):
    target = tmp_path / "sidecar.yaml"
    target.write_text("keep me")
    result = runner.invoke(cli, ["init", str(target)])
    assert result.exit_code == 1 and "--force" in result.output
    assert target.read_text() == "keep me"
    assert runner.invoke(cli, ["init", str(target), "--force"]).exit_code == 0
    assert "lms:" in target.read_text()


def test_init_uses_the_config_option_as_target(runner, tmp_path):
    target = tmp_path / "conf" / "site.yaml"
    result = runner.invoke(cli, ["--config", str(target), "init"])
    assert result.exit_code == 0 and target.exists()


def test_init_rejects_an_endpoint_url(runner, tmp_path):
    result = runner.invoke(cli, ["init", str(tmp_path / "s.yaml"), "--url",
                                 "https://lms.example.org/webservice/rest/server.php"])
    assert result.exit_code == 78
    assert not (tmp_path / "s.yaml").exists()
