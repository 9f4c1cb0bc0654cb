"""Helpers for client tests: serve recorded Moodle exchanges with `responses`.

Moodle has one URL for every function, so recordings are matched on the form body:
a request only gets the recorded answer when it sends exactly the recorded fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl

import pytest
import responses
from pydantic import SecretStr

from connector.moodle.client import MoodleClient
from connector.moodle.transport import MoodleTransport, StaticToken
from connector.retry import RetryPolicy
from tests.conftest import Exchange, exchange

BASE = "https://moodle.example.org"
REST = f"{BASE}/webservice/rest/server.php"
LOGIN = f"{BASE}/login/token.php"
TOKEN = "f00dfacef00dfacef00dfacef00dface"
PLACEHOLDERS = {"<TOKEN>", "<LIMITED_TOKEN>", "<STUDENT_TOKEN>"}


def form_of(request: object) -> list[tuple[str, str]]:
    body = request.body  # type: ignore[attr-defined]
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qsl(body or "", keep_blank_values=True)


def body_matcher(expected: list[tuple[str, str]]) -> Callable[[object], tuple[bool, str]]:
    wanted = [(k, TOKEN if v in PLACEHOLDERS else v) for k, v in expected]

    def match(request: object) -> tuple[bool, str]:
        sent = form_of(request)
        return (sent == wanted, "" if sent == wanted else f"form {sent[:6]} != {wanted[:6]}")

    return match


def add_recording(rsps: responses.RequestsMock, name: str) -> Exchange:
    """Serve one recording for the exact form body it was recorded with."""
    rec = exchange(name)
    url = LOGIN if rec.function == "login/token.php" else REST
    rsps.add(responses.POST, url, body=rec.body.encode(), status=rec.http_status,
             content_type=rec.content_type, match=[body_matcher(rec.params)])
    return rec


class FakeSleep:
    """Records the delays it was asked for instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def make_transport(sleep: FakeSleep) -> Callable[..., MoodleTransport]:
    def make(**kwargs: object) -> MoodleTransport:
        options: dict[str, object] = {
            "retry": RetryPolicy(attempts=4, backoff=0.5, max_backoff=8, jitter=lambda base: 0),
            "sleep": sleep,
        }
        options.update(kwargs)
        token = options.pop("token", StaticToken(SecretStr(TOKEN)))
        return MoodleTransport(BASE, token, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(make_transport: Callable[..., MoodleTransport]) -> MoodleClient:
    return MoodleClient(make_transport(), concurrency=4)
