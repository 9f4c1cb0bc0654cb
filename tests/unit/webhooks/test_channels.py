"""The practice channels against recorded or faked LMS answers: coach messages (one call per
batch, refusals, a lost answer then a look-up) and Totara goal tasks (one practice goal per
learner and course, found before it is made; a lost answer then a look-up, no duplicate;
ticks read as progress)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import responses
from pydantic import SecretStr
from sqlalchemy import Engine

import store
from connector.moodle.client import MoodleClient
from connector.moodle.transport import MoodleTransport, StaticToken
from connector.retry import RetryPolicy
from store.models import FollowupSequence
from tests.conftest import exchange
from tests.support import (
    Reply,
    fake_totara,
    graphql_call,
    graphql_reply,
    migrated_store,
    totara_client,
)
from webhooks.channel import SentPractice
from webhooks.claim import Claimed
from webhooks.clock import ManualClock
from webhooks.goal_channel import GoalTaskChannel, carries
from webhooks.message_channel import MessageChannel

MOODLE = "https://moodle.example.org"
REST = f"{MOODLE}/webservice/rest/server.php"
TOTARA = "https://totara.example.org"
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
NO_RETRY = RetryPolicy(attempts=1, backoff=0, max_backoff=0, jitter=lambda base: 0)


def link(task_id: int, learner_id: int) -> str:
    return f"https://sidecar.test/practice/{task_id}-{learner_id}"


def claimed(task_id: int, learner: int, *, course: int = 8, sequence: int = 1) -> Claimed:
    return Claimed(id=task_id, sequence_id=sequence, learner_id=learner, task_index=0,
                   text=f"Practise feedback, task {task_id}.",
                   clientmsgid=f"sidecar-fu-{sequence}-0-{task_id}", course_id=course,
                   competency_id=None, course_name="Giving feedback")


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- coach messages ----------------------------------------------------------------------------

def moodle() -> MoodleClient:
    transport = MoodleTransport(MOODLE, StaticToken(SecretStr("f00d" * 8)), retry=NO_RETRY)
    return MoodleClient(transport)


def message_channel() -> MessageChannel:
    return MessageChannel(moodle(), 2, link, ManualClock(NOW))


def form(call: responses.Call) -> dict[str, str]:
    return dict(parse_qsl(str(call.request.body)))


def test_a_batch_is_one_call_and_each_result_lands_on_its_task(rsps) -> None:
    sent = exchange("143_core_message_send_instant_messages_3_users")
    rsps.add(responses.POST, REST, body=sent.body, content_type="application/json")
    tasks = [claimed(1, 55), claimed(2, 56), claimed(3, 58)]

    outcome = message_channel().deliver(tasks)

    assert outcome.sent == {1: 5, 2: 6, 3: 7} and not outcome.doubtful
    [call] = rsps.calls
    body = form(call)
    assert body["wsfunction"] == "core_message_send_instant_messages"
    assert body["messages[2][touserid]"] == "58"
    assert "Ref: sidecar-fu-1-0-1<" in body["messages[0][text]"]
    assert "https://sidecar.test/practice/1-55" in body["messages[0][text]"]


def test_a_message_moodle_refuses_is_refused_for_good(rsps) -> None:
    refused = exchange("149_core_message_send_instant_messages_student_to_non_coursemate")
    rsps.add(responses.POST, REST, body=refused.body, content_type="application/json")
    outcome = message_channel().deliver([claimed(1, 58)])
    assert outcome.sent == {} and "message preferences" in outcome.refused[1]


def test_a_lost_answer_is_doubtful_and_the_look_up_finds_what_arrived(rsps) -> None:
    rsps.add(responses.POST, REST, body=requests.ConnectionError("connection reset"))
    tasks = [claimed(1, 55), claimed(2, 55)]
    channel = message_channel()

    outcome = channel.deliver(tasks)
    assert set(outcome.doubtful) == {1, 2} and outcome.errors and not outcome.sent

    recorded = json.loads(exchange("145_core_message_get_messages_sent_to_learner_read_and_"
                                   "unread").body)
    message = recorded["messages"][0]
    message["text"] = channel.message_html(tasks[0])  # only the first one reached Moodle
    rsps.replace(responses.POST, REST, json=recorded)
    lookup = channel.find_delivered(tasks)

    assert (lookup.found, lookup.missing, lookup.unknown) == ({1: message["id"]}, [2], [])
    assert form(rsps.calls[-1])["useridfrom"] == "2"
    assert len(rsps.calls) == 2  # one look-up for the learner's two tasks


def test_an_error_answer_holds_the_batch_and_messages_report_no_progress(rsps) -> None:
    rsps.add(responses.POST, REST, json={"exception": "moodle_exception",
                                         "errorcode": "invalidtoken", "message": "Invalid token"})
    channel = message_channel()
    outcome = channel.deliver([claimed(1, 55)])
    assert set(outcome.held) == {1} and not outcome.doubtful and not outcome.refused
    assert channel.progress([]).done == [] and not channel.reports_progress


# -- Totara goal tasks -------------------------------------------------------------------------

class FakeTotara:
    """Plays the goal operations of the contract: goals per user (``id_number`` unique),
    goal tasks per goal; ``lose`` names operations whose answer is lost after the write."""

    def __init__(self) -> None:
        self.goals: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.lose: set[str] = set()
        self.operations: list[str] = []
        self.stale_reads = 0  # user_goals answers this many times as if no goal existed yet

    def __call__(self, request: requests.PreparedRequest) -> Reply:
        name, variables = graphql_call(request)
        data = variables["input"]
        self.operations.append(name)
        answer = getattr(self, name)(data)
        if name in self.lose:
            raise requests.ConnectionError("connection reset after the write")
        return graphql_reply(name, answer)

    def perform_goal_user_goals(self, data: dict[str, Any]) -> dict[str, Any]:
        user = data["filters"]["user"]["id"]
        items = [g for g in self.goals if g["user"] == user and not self.stale_reads]
        self.stale_reads = max(0, self.stale_reads - 1)
        return {"items": items, "total": len(items), "next_cursor": ""}

    def perform_goal_create_goal(self, data: dict[str, Any]) -> dict[str, Any]:
        if any(g["id_number"] == data["id_number"] for g in self.goals):
            return {"success": False, "errors": [{"code": "duplicate", "message": "taken"}],
                    "goal": None}
        goal = {"id": 100 + len(self.goals), "id_number": data["id_number"],
                "name": data["name"], "user": data["user"]["id"], "fields": data}
        self.goals.append(goal)
        return {"success": True, "errors": [], "goal": goal}

    def perform_goal_create_goal_task(self, data: dict[str, Any]) -> dict[str, Any]:
        task = {"id": 500 + len(self.tasks), "goal_id": data["goal_id"],
                "description": data["description"], "completed": False,
                "resource": (data.get("resource_id"), data.get("resource_type"))}
        self.tasks.append(task)
        return {"success": True, "errors": [], "goal_task": task}

    def perform_goal_get_goal_tasks(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        return [t for t in self.tasks if t["goal_id"] == data["goal_id"]]


@pytest.fixture
def fake(rsps) -> FakeTotara:
    fake = FakeTotara()
    fake_totara(rsps, TOTARA, fake)
    return fake


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_store(tmp_path) as engine:
        with store.session_scope(store.session_factory(engine)) as session:
            session.add(FollowupSequence(
                id=1, site=TOTARA, learner_id=55, learner_name="Amélie Dubois",
                learner_firstname="Amélie", course_id=8, course_shortname="COMM-101",
                course_name="Giving feedback", competency_name="", plan_id="p",
                state="active", completed_at=NOW, card=None))
        yield engine


@pytest.fixture
def goal_channel(engine: Engine) -> Callable[[], GoalTaskChannel]:
    def make() -> GoalTaskChannel:
        return GoalTaskChannel(totara_client(TOTARA, NO_RETRY), engine, link, ManualClock(NOW))
    return make


def test_the_first_task_makes_the_practice_goal_the_next_reuses_it(fake, goal_channel) -> None:
    outcome = goal_channel().deliver([claimed(1, 55)])
    again = goal_channel().deliver([claimed(2, 55)])  # a later run: found, not made again

    [goal] = fake.goals
    assert goal["id_number"] == "lms-sidecar-practice-55-course-8"
    assert goal["name"] == "Practice: Giving feedback"
    assert goal["fields"]["user"] == {"id": 55} and goal["fields"]["target_type"] == "date"
    assert (outcome.sent, again.sent) == ({1: 500}, {2: 501})
    first = fake.tasks[0]
    assert first["goal_id"] == goal["id"] and first["resource"] == (8, "course")
    assert first["description"].startswith("Practise feedback, task 1.")
    assert "https://sidecar.test/practice/1-55" in first["description"]
    assert first["description"].splitlines()[-1] == "Ref: sidecar-fu-1-0-1"
    assert fake.operations.count("perform_goal_create_goal") == 1
    assert fake.operations.count("perform_goal_user_goals") == 2  # once per run and learner


def test_a_lost_answer_is_looked_up_and_never_made_twice(fake, goal_channel) -> None:
    fake.lose.add("perform_goal_create_goal_task")
    channel = goal_channel()
    outcome = channel.deliver([claimed(1, 55)])
    assert set(outcome.doubtful) == {1} and not outcome.sent and len(fake.tasks) == 1

    fake.lose.clear()
    lookup = goal_channel().find_delivered([claimed(1, 55), claimed(2, 55)])

    assert (lookup.found, lookup.missing) == ({1: 500}, [2])
    assert len(fake.tasks) == 1  # the look-up made nothing


def test_a_goal_another_worker_made_since_the_last_read_is_found_not_made(
        fake, goal_channel) -> None:
    first, second = goal_channel(), goal_channel()
    first._goals[55] = {}  # the first worker read the learner's goals: none yet
    second.deliver([claimed(1, 55)])  # then a second worker made the goal
    outcome = first.deliver([claimed(2, 55)])
    assert outcome.sent == {2: 501} and len(fake.goals) == 1


def test_an_id_number_taken_by_a_racing_worker_is_read_back(fake, goal_channel) -> None:
    goal_channel().deliver([claimed(1, 55)])
    fake.stale_reads = 1  # the next read misses the goal: the create is refused as a duplicate
    outcome = goal_channel().deliver([claimed(2, 55)])
    assert outcome.sent == {2: 501} and len(fake.goals) == 1
    assert fake.operations.count("perform_goal_create_goal") == 2


def test_only_ticked_goal_tasks_with_the_task_reference_are_progress(fake, goal_channel) -> None:
    channel = goal_channel()
    channel.deliver([claimed(1, 55), claimed(2, 55)])
    fake.tasks[0]["completed"] = True
    sent = [SentPractice(id=t, sequence_id=1, learner_id=55, course_id=8, competency_id=None,
                         clientmsgid=f"sidecar-fu-1-0-{t}", lms_ref=499 + t) for t in (1, 2)]
    stranger = SentPractice(id=3, sequence_id=1, learner_id=55, course_id=8,
                            competency_id=None, clientmsgid="sidecar-fu-1-0-3", lms_ref=500)

    assert goal_channel().progress([*sent, stranger]).done == [1]


def test_a_reference_matches_its_own_line_only() -> None:
    task = claimed(1, 55)
    assert carries("Do it.\n\nRef: sidecar-fu-1-0-1", task)
    assert not carries("Do it.\n\nRef: sidecar-fu-1-0-10", task)
    assert not carries(None, task)
