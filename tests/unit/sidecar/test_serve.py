"""``sidecar serve``'s gunicorn application: what a worker does when it loads the app."""

from __future__ import annotations

import gc

import pytest

from config import Settings
from sidecar.commands import serve


def test_a_worker_freezes_what_it_built_out_of_full_collections(
        monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    app = type("App", (), {"extensions": {}})()
    monkeypatch.setattr(serve, "open_store", lambda _settings: steps.append("store") or "engine")
    monkeypatch.setattr(serve, "create_app", lambda _s, _e: steps.append("app") or app)
    monkeypatch.setattr(serve, "start_scheduler", lambda _s, _e: steps.append("scheduler"))
    monkeypatch.setattr(gc, "freeze", lambda: steps.append("freeze"))
    settings = Settings(lms={"url": "https://lms.example.org", "token": "t"})  # type: ignore[arg-type]

    loaded = serve.SidecarServer(settings, {"bind": "127.0.0.1:0"}).load()

    assert loaded is app
    assert steps == ["store", "app", "scheduler", "freeze"]
