"""``core_message_send_instant_messages`` (looked up and inserted per call) answers and stores
exactly what the message-by-message version did: ids, conversations, members, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from connector.sandbox import control, create_app, state_of
from connector.sandbox.encoding import html_to_text, plain_to_html
from connector.sandbox.exporters import fullname
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.functions.messages import (
    FORMAT_HTML,
    FORMAT_PLAIN,
    REFUSED,
    _can_message,
    send_instant_messages,
)
from connector.sandbox.registry import Call, WsFunction
from connector.sandbox.state import Db
from tests.unit.sandbox.replay import post_form

TOKEN = "c" * 32
LEARNER = 9  # enrolled in courses 2 and 3 of the seeded company
SEND = "core_message_send_instant_messages"


def reference_conversation(db: Db, one: int, two: int, now: int) -> int:
    convhash = f"{min(one, two)}-{max(one, two)}"
    found = db.scalar("SELECT id FROM message_conversations WHERE convhash = ?", (convhash,))
    if found:
        return int(found)
    convid = db.insert("message_conversations", type=1, convhash=convhash, timecreated=now)
    for member in {one, two}:
        db.insert("message_conversation_members", conversationid=convid, userid=member)
    return convid


def reference_send(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The handler as it was: every look-up and insert one message at a time."""
    results = []
    for item in params["messages"]:
        recipient = call.db.one("SELECT * FROM user WHERE id = ?", (item["touserid"],))
        if recipient is None or not _can_message(call.db, call.user, item["touserid"]):
            results.append({"msgid": -1, "clientmsgid": item.get("clientmsgid"),
                            "errormessage": REFUSED, "candeletemessagesforallusers": False})
            continue
        plain = item["textformat"] != FORMAT_HTML
        html = plain_to_html(item["text"]) if plain else item["text"]
        convid = reference_conversation(call.db, call.userid, recipient["id"], call.now)
        msgid = call.db.insert(
            "messages", useridfrom=call.userid, conversationid=convid,
            subject=f"New message from {fullname(call.user)}",
            fullmessage=item["text"] if plain else html_to_text(item["text"]),
            fullmessageformat=FORMAT_PLAIN if plain else FORMAT_HTML,
            fullmessagehtml="" if plain else item["text"], smallmessage=item["text"],
            timecreated=call.now)
        results.append({"msgid": msgid, "clientmsgid": item.get("clientmsgid"), "text": html,
                        "timecreated": call.now, "conversationid": convid,
                        "useridfrom": call.userid, "candeletemessagesforallusers": call.is_admin})
    return results


def site(reference: bool) -> tuple[FlaskClient, str]:
    app = create_app(admin_token=TOKEN, clock_start=1_793_000_000)
    state = state_of(app)
    state.clock.freeze(True)
    if reference:
        function = FUNCTIONS[SEND]
        state.functions = {**FUNCTIONS, SEND: WsFunction(SEND, function.params, reference_send,
                                                         function.capability)}
    with state.transaction() as db:
        learner_token = control.create_token(db, state.clock.now(), user=LEARNER,
                                             service="lms_sidecar", token="d" * 32)
    return app.test_client(), learner_token


def messages(*items: tuple[int, str, int]) -> list[tuple[str, str]]:
    pairs = []
    for n, (touserid, text, textformat) in enumerate(items):
        pairs += [(f"messages[{n}][touserid]", str(touserid)), (f"messages[{n}][text]", text),
                  (f"messages[{n}][textformat]", str(textformat))]
        if n % 3:
            pairs.append((f"messages[{n}][clientmsgid]", f"c-{n}"))
    return pairs


def ws(client: FlaskClient, token: str, function: str, pairs: list[tuple[str, str]]) -> Any:
    form = [("wstoken", token), ("wsfunction", function), ("moodlewsrestformat", "json"), *pairs]
    return json.loads(post_form(client, "/webservice/rest/server.php", form).data)


HTML = "<p>Hello <b>you</b> &amp; <strong>all</strong></p><p>Ref: {n}</p>"
CALLS: list[tuple[str, list[tuple[str, str]]]] = [
    ("admin", messages((LEARNER, HTML.format(n=1), 1), (99999, "nobody", 1), (7, "plain", 2),
                       (LEARNER, HTML.format(n=2), 1), (2, "to myself", 1), (0, "zero", 1),
                       (7, HTML.format(n=3), 1))),
    ("admin", messages((7, "again", 2), (42, HTML.format(n=4), 1), (LEARNER, "x", 1))),
    ("learner", messages(*[(user, f"hi {user}", 1 + user % 2) for user in range(1, 60)],
                         (2, "to the admin", 1), (LEARNER, "to myself", 1))),
    ("admin", messages()),
    ("admin", [("messages", "")]),
    ("learner", messages((7, "last", 1), (3, "refused", 1))),
]
READS: list[tuple[str, list[tuple[str, str]]]] = [
    ("core_message_get_messages", [("useridto", "0"), ("read", "2")]),
    ("core_message_get_messages", [("useridto", str(LEARNER)), ("read", "0")]),
    ("core_message_get_conversations", [("userid", "2")]),
    ("core_message_get_conversations", [("userid", str(LEARNER))]),
    ("core_message_get_conversation_messages", [("currentuserid", "2"), ("convid", "1")]),
    ("core_message_get_conversation_messages", [("currentuserid", str(LEARNER)),
                                                ("convid", "3")]),
]


def play(reference: bool) -> tuple[list[Any], str]:
    client, learner_token = site(reference)
    tokens = {"admin": TOKEN, "learner": learner_token}
    answers = [ws(client, tokens[who], SEND, pairs) for who, pairs in CALLS]
    answers += [ws(client, TOKEN, function, pairs) for function, pairs in READS]
    dump = "\n".join(state_of(client.application).conn.iterdump())
    return answers, dump


@pytest.fixture(scope="module")
def played() -> tuple[tuple[list[Any], str], tuple[list[Any], str]]:
    return play(reference=True), play(reference=False)


def test_the_handler_under_test_is_the_module_one() -> None:
    assert FUNCTIONS[SEND].handler is send_instant_messages


def test_answers_equal_the_message_by_message_handler(played: Any) -> None:
    (expected, _), (answers, _) = played
    for n, (want, got) in enumerate(zip(expected, answers, strict=True)):
        assert got == want, n


def test_database_equals_the_message_by_message_handler(played: Any) -> None:
    (_, expected), (_, dump) = played
    assert dump == expected


def test_the_script_covers_refusals_repeats_and_new_and_old_conversations(played: Any) -> None:
    _, (answers, _) = played
    first, second, learner = answers[0], answers[1], answers[2]
    assert [m["msgid"] == -1 for m in first] == [False, True, False, False, False, True, False]
    assert first[0]["conversationid"] == first[3]["conversationid"]
    assert second[0]["conversationid"] == first[2]["conversationid"]
    assert second[1]["conversationid"] > first[-1]["conversationid"]
    refused = [m for m in learner if m["msgid"] == -1]
    assert refused and len(refused) < len(learner)
    assert answers[3]["errorcode"] == "invalidparameter" and answers[4] == []
    sends = [answers[n] for n in (0, 1, 2, 4, 5)]
    ids = [m["msgid"] for call in sends for m in call if m["msgid"] != -1]
    assert ids == list(range(1, len(ids) + 1))
    assert len(answers[6]["messages"]) == len(ids) - 3  # not the three sent to oneself
