"""The receiver's WSGI route in front of Flask (``receiver.mount``, as ``sidecar serve`` has
it): the same answers as the blueprint served by Flask, Flask left out of webhook POSTs only,
and unexpected errors handled as Flask would."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sidecar.app import create_app
from webhooks import receiver
from webhooks.client import completion_event, signed_headers

from .test_receiver import DONE, HEADER_SECRET, NEW, inbox, moodle_data, settings


def _blueprint_only(engine: Engine) -> FlaskClient:
    app = Flask("blueprint-only")
    app.register_blueprint(receiver.create_blueprint(settings(engine).webhooks, engine))
    return app.test_client()


def _requests() -> list[tuple[str, dict[str, object]]]:
    body = json.dumps(completion_event(8, 55, DONE))
    signed = signed_headers(NEW, body, msg_id="msg_1")
    big = json.dumps({"type": "x", "pad": "y" * 4000})
    form = {k: str(v) for k, v in moodle_data().items() if k != "token"}
    return [
        ("/webhooks/sidecar", {"data": body, "headers": signed}),  # accepted
        ("/webhooks/sidecar", {"data": body, "headers": signed}),  # duplicate
        ("/webhooks/sidecar", {"data": body,
                               "headers": {**signed, "webhook-signature": "v1,Zm9yZ2Vk"}}),
        ("/webhooks/sidecar", {"data": "{no", "headers": signed_headers(NEW, "{no")}),
        ("/webhooks/sidecar", {"data": big, "headers": signed_headers(NEW, big)}),
        ("/webhooks/sidecar", {"data": json.dumps({"type": "user.created"}),
                               "headers": signed_headers(NEW, json.dumps(
                                   {"type": "user.created"}))}),
        ("/webhooks/nope", {"data": "{}"}),
        ("/webhooks/tool-trigger", {"data": form, "headers": {"X-Hook-Secret": HEADER_SECRET}}),
        ("/webhooks/moodle", {"json": moodle_data(token="wrong")}),
    ]


def test_the_route_answers_what_the_blueprint_answers(engines: tuple[Engine, Engine]) -> None:
    flask_engine, route_engine = engines
    through_flask = _blueprint_only(flask_engine)
    through_route = create_app(settings(route_engine), route_engine).test_client()

    statuses = []
    for path, kwargs in _requests():
        expected = through_flask.post(path, **kwargs)  # type: ignore[arg-type]
        got = through_route.post(path, **kwargs)  # type: ignore[arg-type]
        assert (got.status, got.get_data(), got.headers.get("Content-Type"),
                got.headers.get("Content-Length")) == (
            expected.status, expected.get_data(), expected.headers.get("Content-Type"),
            expected.headers.get("Content-Length")), path
        statuses.append(got.status_code)
    assert statuses == [200, 200, 401, 400, 413, 200, 404, 200, 401]
    assert [(r.event_id, r.status) for r in inbox(route_engine)] == [
        (r.event_id, r.status) for r in inbox(flask_engine)]


def test_only_webhook_posts_skip_flask(engines: tuple[Engine, Engine]) -> None:
    engine = engines[1]
    app = create_app(settings(engine), engine)
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    http = app.test_client()

    body = json.dumps(completion_event(8, 55, DONE))
    assert http.post("/webhooks/sidecar", data=body,
                     headers=signed_headers(NEW, body)).status_code == 200
    assert seen == []  # answered by the route
    assert http.get("/webhooks/sidecar").status_code == 405  # the blueprint's rule, via Flask
    assert http.post("/webhooks/sidecar/more", data="{}").status_code == 404
    assert http.post("/webhooks/", data="{}").status_code == 404
    assert seen == ["flask"] * 3
    assert len(inbox(engine)) == 1


def _crash(*_args: object, **_kwargs: object) -> object:
    raise RuntimeError("unexpected")


def test_an_unexpected_error_is_a_logged_500(engines: tuple[Engine, Engine], monkeypatch,
                                             caplog) -> None:
    engine = engines[1]
    app = create_app(settings(engine), engine)
    app.testing = False
    monkeypatch.setattr(receiver, "prepare_event", _crash)
    body = json.dumps(completion_event(8, 55, DONE))

    answer = app.test_client().post("/webhooks/sidecar", data=body,
                                    headers=signed_headers(NEW, body))

    assert answer.status_code == 500
    assert [r.levelno for r in caplog.records if r.name == "webhooks.receiver"] == [
        logging.ERROR]
    assert inbox(engine) == []


def test_an_unexpected_error_propagates_when_the_app_is_testing(
        engines: tuple[Engine, Engine], monkeypatch) -> None:
    engine = engines[1]
    app = create_app(settings(engine), engine)
    app.testing = True
    monkeypatch.setattr(receiver, "prepare_event", _crash)
    body = json.dumps(completion_event(8, 55, DONE))

    with pytest.raises(RuntimeError, match="unexpected"):
        app.test_client().post("/webhooks/sidecar", data=body, headers=signed_headers(NEW, body))
