"""The receiver, per sender: good proofs accepted, forged/missing/stale refused, bodies checked,
duplicates and unknown events answered 2xx, and the event committed before the answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

import store
from config import Settings
from sidecar.app import create_app
from store.models import InboxEvent
from webhooks import receiver
from webhooks.client import completion_event, signed_headers

OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()
NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
TOTARA = "totara-secret-1"
TOKEN = "local-webhooks-token"
HEADER_SECRET = "tool-trigger-secret"
DONE = datetime(2026, 11, 22, 1, 34, tzinfo=UTC)


def settings(engine: Engine, **webhooks: object) -> Settings:
    values: dict[str, object] = {
        "sidecar": {"enabled": True, "secrets": f"{OLD} {NEW}"},
        "totara": {"enabled": True, "secrets": TOTARA},
        "moodle": {"enabled": True, "secrets": TOKEN},
        "tool_trigger": {"enabled": True, "secrets": HEADER_SECRET, "header": "X-Hook-Secret"},
        "max_body_bytes": 2048,
    }
    values.update(webhooks)
    return Settings(lms={"url": "https://lms.example.org", "token": "t"},  # type: ignore[arg-type]
                    store={"url": str(engine.url)}, webhooks=values)


@pytest.fixture
def engine(tmp_path) -> Iterator[Engine]:
    """SQLite; the tests that depend on the database run on PostgreSQL too (`any_engine`)."""
    engine = store.create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    store.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def any_engine(store_url: str) -> Iterator[Engine]:
    engine = store.create_engine(store_url)
    store.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def http(engine: Engine) -> FlaskClient:
    return create_app(settings(engine), engine).test_client()


def inbox(engine: Engine) -> list[InboxEvent]:
    with store.session_scope(store.session_factory(engine)) as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)))


def post_sidecar(http: FlaskClient, event: dict, secret: str = NEW, **kwargs):
    body = json.dumps(event)
    headers = signed_headers(secret, body, **kwargs)
    return http.post("/webhooks/sidecar", data=body, headers=headers)


# -- Standard Webhooks (lms-sidecar's own schema) --------------------------------------------


@pytest.mark.parametrize("secret", [OLD, NEW], ids=["old key", "new key"])
def test_sidecar_event_signed_with_either_key_is_stored(http, engine, secret: str) -> None:
    answer = post_sidecar(http, completion_event(8, 55, DONE), secret, msg_id="msg_1")

    assert answer.status_code == 200
    assert answer.json["status"] == "accepted"
    [row] = inbox(engine)
    assert (row.source, row.event_id, row.course_id, row.user_id, row.status) == (
        "sidecar", "msg_1", 8, 55, "new")
    assert row.completed_at == DONE


def test_a_key_removed_after_rotation_is_refused(engine) -> None:
    http = create_app(settings(engine, sidecar={"enabled": True, "secrets": NEW}),
                      engine).test_client()
    answer = post_sidecar(http, completion_event(8, 55, DONE), OLD)

    assert answer.status_code == 401
    assert "no signature matches" in answer.json["error"]
    assert inbox(engine) == []


def test_forged_signature_is_refused(http, engine) -> None:
    body = json.dumps(completion_event(8, 55, DONE))
    headers = signed_headers(NEW, body)
    tampered = body.replace('"userid":55', '"userid":56').replace('"userid": 55', '"userid": 56')
    answer = http.post("/webhooks/sidecar", data=tampered, headers=headers)

    assert answer.status_code == 401
    assert inbox(engine) == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_named(http, missing: str) -> None:
    body = json.dumps(completion_event(8, 55, DONE))
    headers = {k: v for k, v in signed_headers(NEW, body).items() if k != missing}

    answer = http.post("/webhooks/sidecar", data=body, headers=headers)

    assert answer.status_code == 401
    assert missing in answer.json["error"]


@pytest.mark.parametrize("offset", [-600, 600], ids=["replayed", "future"])
def test_stale_timestamp_is_refused(http, engine, offset: int) -> None:
    answer = post_sidecar(http, completion_event(8, 55, DONE),
                          timestamp=datetime.now(UTC) + timedelta(seconds=offset))

    assert answer.status_code == 401
    assert "at most 300 s" in answer.json["error"]
    assert inbox(engine) == []


def test_tolerance_is_configurable(engine) -> None:
    http = create_app(settings(engine, tolerance_seconds=3600), engine).test_client()
    answer = post_sidecar(http, completion_event(8, 55, DONE),
                          timestamp=datetime.now(UTC) - timedelta(minutes=30))
    assert answer.status_code == 200


def test_same_id_delivered_twice_creates_one_row(any_engine) -> None:
    http = create_app(settings(any_engine), any_engine).test_client()
    first = post_sidecar(http, completion_event(8, 55, DONE), msg_id="msg_dup")
    again = post_sidecar(http, completion_event(8, 55, DONE), msg_id="msg_dup")

    assert first.status_code == again.status_code == 200
    assert again.json == {**first.json, "status": "duplicate"}
    assert len(inbox(any_engine)) == 1


def test_same_completion_with_another_id_creates_nothing_new(http, engine) -> None:
    post_sidecar(http, completion_event(8, 55, DONE), msg_id="a")
    again = post_sidecar(http, completion_event(8, 55, DONE + timedelta(seconds=30)),
                         msg_id="b")

    assert again.json["status"] == "duplicate"
    assert len(inbox(engine)) == 1


def test_unknown_event_type_is_accepted_and_ignored(http, engine) -> None:
    answer = post_sidecar(http, {"type": "user.created", "data": {"id": 5}}, msg_id="u1")

    assert answer.status_code == 200
    assert answer.json["status"] == "ignored"
    [row] = inbox(engine)
    assert row.status == "ignored" and row.event_type == "user.created"


@pytest.mark.parametrize(("event", "reason"), [
    ({"data": {}}, "type is missing"),
    ({"type": "course.completed"}, "data is missing"),
    ({"type": "course.completed", "data": {"userid": 5, "timecompleted": 1}},
     "data.courseid is missing"),
    ({"type": "course.completed", "data": {"courseid": "x", "userid": 5, "timecompleted": 1}},
     "data.courseid must be an integer"),
    ({"type": "course.completed", "data": {"courseid": 8, "userid": 5,
                                           "timecompleted": "yesterday"}},
     "data.timecompleted 'yesterday' is not a time"),
    ([1, 2], "expected a JSON object, got an array"),
])
def test_malformed_bodies_say_why(http, engine, event: object, reason: str) -> None:
    answer = post_sidecar(http, event)  # type: ignore[arg-type]

    assert answer.status_code == 400
    assert reason in answer.json["error"]
    assert inbox(engine) == []


def test_body_that_is_not_json_is_400(http) -> None:
    body = "{not json"
    answer = http.post("/webhooks/sidecar", data=body, headers=signed_headers(NEW, body))
    assert answer.status_code == 400
    assert "not JSON" in answer.json["error"]


def test_body_over_the_limit_is_413_by_header_and_by_bytes(http, engine) -> None:
    event = {"type": "x", "pad": "y" * 4000}
    answer = post_sidecar(http, event)
    assert answer.status_code == 413
    assert "2048" in answer.json["error"]

    # A sender that lies about (or omits) the length is caught by the bytes read.
    body = json.dumps(event).encode()
    chunked = http.post("/webhooks/sidecar", input_stream=io.BytesIO(body),
                        environ_base={"wsgi.input_terminated": True},
                        headers={**signed_headers(NEW, body.decode()),
                                 "Transfer-Encoding": "chunked"})
    assert chunked.status_code == 413
    assert inbox(engine) == []


def test_disabled_or_unknown_sender_is_404(engine) -> None:
    http = create_app(settings(engine, totara={"enabled": False}), engine).test_client()
    answer = http.post("/webhooks/totara", data="{}")
    assert answer.status_code == 404
    assert "enabled: sidecar, moodle, tool-trigger" in answer.json["error"]
    assert http.post("/webhooks/nope", data="{}").status_code == 404


def test_event_is_committed_before_the_answer(any_engine, monkeypatch) -> None:
    app = create_app(settings(any_engine), any_engine)
    app.testing = False  # a crash becomes a 500, as in production

    def crash(*_args, **_kwargs):
        raise RuntimeError("process died right after the commit")

    monkeypatch.setattr(receiver, "answer", crash)
    answer = post_sidecar(app.test_client(), completion_event(8, 55, DONE), msg_id="m")

    assert answer.status_code == 500
    [row] = inbox(any_engine)
    assert row.event_id == "m" and row.status == "new"
    # The sender retries; the retry is a duplicate, answered 2xx.
    monkeypatch.undo()
    retry = post_sidecar(app.test_client(), completion_event(8, 55, DONE), msg_id="m")
    assert retry.json["status"] == "duplicate"


def test_store_failure_is_503_so_the_sender_retries(engine, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    def down(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(receiver, "record_prepared", down)  # the receiver stores through it
    http = create_app(settings(engine), engine).test_client()
    answer = post_sidecar(http, completion_event(8, 55, DONE))
    assert answer.status_code == 503


# -- Totara 19 --------------------------------------------------------------------------------


def totara_body(event: str = "core\\event\\course_completed", **overrides: object) -> bytes:
    data = {"attempt": 1, "event": event, "time_created": 1795311287,
            "time_sent": int(datetime.now(UTC).timestamp()), "webhook_id": 3,
            "body": {"id": 41, "userid": 55, "course": 8, "timeenrolled": 1795000000,
                     "timestarted": 0, "timecompleted": 1795311287, "reaggregate": 0}}
    data.update(overrides)
    return json.dumps(data).encode()


def totara_sign(body: bytes, secret: str = TOTARA) -> dict[str, str]:
    return {"X-Totara-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_totara_completion_is_stored(http, engine) -> None:
    body = totara_body()
    answer = http.post("/webhooks/totara", data=body, headers=totara_sign(body))

    assert answer.status_code == 200 and answer.json["status"] == "accepted"
    [row] = inbox(engine)
    assert (row.source, row.course_id, row.user_id) == ("totara", 8, 55)
    assert row.completed_at == datetime.fromtimestamp(1795311287, UTC)


def test_totara_retry_with_a_new_attempt_is_a_duplicate(http, engine) -> None:
    first = totara_body()
    retry = totara_body(attempt=2)
    http.post("/webhooks/totara", data=first, headers=totara_sign(first))
    answer = http.post("/webhooks/totara", data=retry, headers=totara_sign(retry))

    assert answer.json["status"] == "duplicate"
    assert len(inbox(engine)) == 1


@pytest.mark.parametrize("headers", [{}, {"X-Totara-Signature": "00" * 32}],
                         ids=["missing", "forged"])
def test_totara_bad_signature_is_401(http, engine, headers: dict[str, str]) -> None:
    answer = http.post("/webhooks/totara", data=totara_body(), headers=headers)
    assert answer.status_code == 401
    assert "X-Totara-Signature" in answer.json["error"]
    assert inbox(engine) == []


def test_totara_stale_time_sent_is_401(http) -> None:
    body = totara_body(time_sent=int(datetime.now(UTC).timestamp()) - 3600)
    answer = http.post("/webhooks/totara", data=body, headers=totara_sign(body))
    assert answer.status_code == 401
    assert "time_sent" in answer.json["error"]


def test_totara_other_event_is_ignored(http, engine) -> None:
    body = totara_body(event="core\\event\\user_loggedin", body={"id": 1})
    answer = http.post("/webhooks/totara", data=body, headers=totara_sign(body))
    assert answer.json["status"] == "ignored"


def test_totara_completion_without_userid_is_400(http) -> None:
    body = totara_body(body={"course": 8, "timecompleted": 1795311287})
    answer = http.post("/webhooks/totara", data=body, headers=totara_sign(body))
    assert answer.status_code == 400
    assert "body.userid is missing" in answer.json["error"]


# -- Moodle: local_webhooks (token in the body) and tool_trigger (header secret) --------------


def moodle_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "eventname": "\\core\\event\\course_completed", "component": "core",
        "action": "completed", "target": "course", "objecttable": "course_completions",
        "objectid": 41, "crud": "u", "contextinstanceid": 8, "userid": 2, "courseid": 8,
        "relateduserid": 55, "timecreated": 1795311300, "host": "lms.example.org",
        "token": TOKEN, "extra": ""}
    data.update(overrides)
    return data


def test_local_webhooks_completion_names_the_learner_not_the_actor(http, engine) -> None:
    answer = http.post("/webhooks/moodle", json=moodle_data())

    assert answer.status_code == 200 and answer.json["status"] == "accepted"
    [row] = inbox(engine)
    assert (row.course_id, row.user_id) == (8, 55)
    assert "token" not in row.payload  # the shared secret is never stored


@pytest.mark.parametrize("token", [None, "wrong", 12], ids=["missing", "wrong", "not text"])
def test_local_webhooks_bad_token_is_401(http, engine, token: object) -> None:
    data = moodle_data(token=token)
    if token is None:
        del data["token"]
    answer = http.post("/webhooks/moodle", json=data)
    assert answer.status_code == 401
    assert "token field" in answer.json["error"]
    assert inbox(engine) == []


def test_local_webhooks_redelivery_is_a_duplicate(http, engine) -> None:
    http.post("/webhooks/moodle", json=moodle_data())
    again = http.post("/webhooks/moodle", json=moodle_data())
    assert again.json["status"] == "duplicate"
    assert len(inbox(engine)) == 1


def test_tool_trigger_form_post_with_header_secret(http, engine) -> None:
    form = {k: str(v) for k, v in moodle_data().items() if k != "token"}
    answer = http.post("/webhooks/tool-trigger", data=form,
                       headers={"X-Hook-Secret": HEADER_SECRET})

    assert answer.status_code == 200 and answer.json["status"] == "accepted"
    [row] = inbox(engine)
    assert (row.source, row.course_id, row.user_id) == ("tool_trigger", 8, 55)


@pytest.mark.parametrize("header", [{}, {"X-Hook-Secret": "nope"}], ids=["missing", "wrong"])
def test_tool_trigger_bad_header_is_401(http, header: dict[str, str]) -> None:
    answer = http.post("/webhooks/tool-trigger", json=moodle_data(), headers=header)
    assert answer.status_code == 401
    assert "X-Hook-Secret" in answer.json["error"]


def test_same_completion_by_two_senders_is_one_row(any_engine) -> None:
    http = create_app(settings(any_engine), any_engine).test_client()
    post_sidecar(http, completion_event(8, 55, datetime.fromtimestamp(1795311287, UTC)))
    answer = http.post("/webhooks/moodle", json=moodle_data())
    assert answer.json["status"] == "duplicate"
    assert len(inbox(any_engine)) == 1


# -- secrets never leave -------------------------------------------------------------------


def test_secrets_and_signatures_are_absent_from_logs_and_answers(http, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(completion_event(8, 55, DONE))
    headers = signed_headers(NEW, body)
    answers = [
        http.post("/webhooks/sidecar", data=body, headers=headers),
        http.post("/webhooks/sidecar", data=body,
                  headers={**headers, "webhook-signature": "v1,Zm9yZ2Vk"}),
        http.post("/webhooks/moodle", json=moodle_data(token=TOKEN + "x")),
        http.post("/webhooks/tool-trigger", json=moodle_data(),
                  headers={"X-Hook-Secret": HEADER_SECRET + "x"}),
    ]
    text = caplog.text + "".join(a.get_data(as_text=True) for a in answers)
    for secret in (OLD, NEW, TOTARA, TOKEN, HEADER_SECRET, headers["webhook-signature"],
                   OLD.removeprefix("whsec_"), NEW.removeprefix("whsec_")):
        assert secret not in text
    assert headers["webhook-id"] in caplog.text  # event ids are logged
