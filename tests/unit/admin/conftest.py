from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import store
from config import Settings
from sidecar.app import create_app

PASSWORD = "correct horse battery staple"
SESSION_KEY = "s" * 40
LMS_TOKEN = "f00dfacef00dfacef00dfacef00dface"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.migrate(engine)
    settings = Settings(
        lms={"url": "https://moodle.example.org", "token": LMS_TOKEN},
        admin={"password": PASSWORD, "session_key": SESSION_KEY, "secure_cookies": False,
               "signin_limit": "3 per minute"},
    )
    app = create_app(settings, engine)
    app.config["TESTING"] = True
    yield app
    engine.dispose()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def signed_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    token = csrf_of(client.get("/admin/signin").text)
    response = client.post("/admin/signin", data={"password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


@pytest.fixture
def form_token(signed_in: FlaskClient) -> Callable[[], str]:
    return lambda: csrf_of(signed_in.get("/admin/").text)
