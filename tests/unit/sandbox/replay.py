"""Replaying the recorded Moodle exchanges against a blank sandbox, and comparing shapes.

Recorded ids are mapped to the sandbox's ids as the replay creates objects; what the recorder
made outside the recorded calls (run 2's users, frameworks, plans, tokens; the admin's UI steps
such as completion settings, cron, browser visits, a custom report) is made here by ``SETUP``
steps with the same web-service calls or the sandbox's admin operations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient
from lxml import etree

from connector.sandbox import control
from connector.sandbox.app import create_app, state_of
from connector.sandbox.functions import FUNCTIONS
from connector.sandbox.seed import SERVICE_SHORTNAME

ADMIN_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ADMIN_PASSWORD = "Replay-admin-1"
KOFI_PASSWORD = "Kofi#2024pw"
RUN2 = "X1122013434"
CREATED_KIND = {
    "core_user_create_users": "user", "core_course_create_courses": "course",
    "core_competency_create_competency_framework": "framework",
    "core_competency_create_competency": "competency",
    "core_competency_create_template": "template", "core_cohort_create_cohorts": "cohort",
    "core_competency_create_plan": "plan",
}
# Which kind of object each parameter names (by its last key), unless function-specific.
PARAM_KIND = {
    "userid": "user", "useridto": "user", "useridfrom": "user", "currentuserid": "user",
    "touserid": "user", "courseid": "course", "competencyframeworkid": "framework",
    "competencyid": "competency", "parentid": "competency", "planid": "plan",
    "templateid": "template", "coursecompetencyid": "coursecomp", "convid": "conversation",
    "reportid": "report",
}
ID_KIND = {
    "core_competency_read_competency_framework": "framework",
    "core_competency_delete_competency_framework": "framework",
    "core_competency_update_competency_framework": "framework",
    "core_competency_list_course_competencies": "course",
    "core_competency_count_competencies_in_course": "course",
    "core_competency_list_competencies_in_template": "template",
    "core_competency_list_plan_competencies": "plan", "core_competency_read_plan": "plan",
    "core_competency_delete_plan": "plan", "core_competency_approve_plan": "plan",
    "core_competency_update_plan": "plan",
}


@dataclass
class Replay:
    """A blank sandbox plus what the replay learned: id map and tokens."""

    client: FlaskClient
    app: Any
    ids: dict[tuple[str, int], int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls) -> Replay:
        app = create_app(seed=False, admin_token=ADMIN_TOKEN, max_input_vars=5000,
                         admin_password=ADMIN_PASSWORD)
        replay = cls(app.test_client(), app)
        replay.tokens["<TOKEN>"] = ADMIN_TOKEN
        state = state_of(app)
        with state.transaction() as db:  # the recorded site's service was called "sidecar"
            control.create_service(db, "sidecar", "sidecar", sorted(FUNCTIONS))
        return replay

    def map(self, kind: str, recorded: int) -> int:
        return self.ids.get((kind, recorded), recorded)

    def ws(self, token: str, function: str, params: list[tuple[str, str]]) -> Any:
        response = post_form(self.client, "/webservice/rest/server.php", [
            ("wstoken", token), ("wsfunction", function), ("moodlewsrestformat", "json"),
            *params])
        body = json.loads(response.data)
        if isinstance(body, dict) and "exception" in body:
            raise AssertionError(f"setup call {function} failed: {body}")
        return body

    def admin(self, function: str, **params: Any) -> Any:
        return self.ws(ADMIN_TOKEN, function, [(k, str(v)) for k, v in params.items()])

    def token_for(self, placeholder: str, userid: int, service: str = SERVICE_SHORTNAME) -> None:
        state = state_of(self.app)
        with state.transaction() as db:
            self.tokens[placeholder] = control.create_token(
                db, state.clock.now(), user=userid, service=service)


def post_form(client: FlaskClient, path: str, pairs: list[tuple[str, str]]) -> Any:
    """POST the pairs in this exact order, as a urlencoded body."""
    return client.post(path, data=urlencode(pairs),
                       content_type="application/x-www-form-urlencoded")


def translate(replay: Replay, function: str | None, params: list[tuple[str, str]],
              file: str) -> list[tuple[str, str]]:
    """Recorded form -> form for the sandbox: tokens, passwords, ids, service name."""
    form = dict(params)
    out = []
    for key, value in params:
        last = re.findall(r"\[([^\]]*)\]", key)[-1] if "[" in key else key
        if value in replay.tokens:
            value = replay.tokens[value]
        elif value == "<PASSWORD>":
            value = {"93": "wrong-password", "95": KOFI_PASSWORD}.get(file.split("_")[0],
                                                                      ADMIN_PASSWORD)
        elif value.isdigit():
            value = str(_map_id(replay, function, key, last, form, int(value)))
        elif key == "value" and form.get("field") == "ids":
            value = ",".join(str(replay.map("course", int(v))) for v in value.split(","))
        out.append((key, value))
    return out


def _map_id(replay: Replay, function: str | None, key: str, last: str, form: dict[str, str],
            value: int) -> int:
    kind = PARAM_KIND.get(last)
    if last == "id" and function in ID_KIND:
        kind = ID_KIND[function]
    elif last == "id" and key != "id":
        kind = {"competencyframework": "framework", "competency": "competency",
                "plan": "plan"}.get(key.split("[")[0])
    elif last == "id" and function and "competency" in function:
        kind = "competency"
    elif key.startswith("values[") and form.get("field") == "id":
        kind = "user"
    elif key.startswith("options[ids]") or (key == "value" and form.get("field") == "id"):
        kind = "course"
    elif key == "filters[0][value]" or key == "filters[1][value]":
        column = form.get(key.replace("[value]", "[column]"))
        kind = {"competencyframeworkid": "framework", "parentid": "competency",
                "id": "competency"}.get(str(column))
    elif last == "instanceid" and form.get(key.replace("instanceid", "contextlevel")) == "user":
        kind = "user"
    elif last == "value" and form.get(key.replace("[value]", "[type]")) == "id":
        kind = "cohort" if "cohorttype" in key else "user"
    return replay.map(kind, value) if kind else value


def learn(replay: Replay, function: str | None, recorded: Any, actual: Any) -> None:
    """Remember sandbox ids of objects the recorded call created."""
    kind = CREATED_KIND.get(str(function))
    if kind and isinstance(recorded, list) and isinstance(actual, list):
        for old, new in zip(recorded, actual, strict=False):
            replay.ids[(kind, old["id"])] = new["id"]
    elif kind and isinstance(recorded, dict) and isinstance(actual, dict) and "id" in recorded:
        replay.ids[(kind, recorded["id"])] = actual["id"]
    if function == "core_competency_list_course_competencies" and isinstance(actual, list):
        by_comp = {item["competency"]["idnumber"]: item["coursecompetency"]["id"]
                   for item in actual}
        for item in recorded:
            found = by_comp.get(item["competency"]["idnumber"])
            if found:
                replay.ids[("coursecomp", item["coursecompetency"]["id"])] = found
    if function == "core_message_send_instant_messages" and isinstance(actual, list):
        for old, new in zip(recorded, actual, strict=False):
            if old.get("conversationid") and new.get("conversationid"):
                replay.ids[("conversation", old["conversationid"])] = new["conversationid"]


def shape(value: Any) -> Any:
    """Keys, types and nesting of a decoded body, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return ["list", sorted({json.dumps(shape(item), sort_keys=True) for item in value})]
    return type(value).__name__


def compare_shapes(recorded: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences in keys, types, nesting; list items must each match a recorded item shape."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        problems = []
        if set(recorded) != set(actual):
            problems.append(f"{path}: keys differ: missing {sorted(set(recorded) - set(actual))}"
                            f", extra {sorted(set(actual) - set(recorded))}")
        for key in set(recorded) & set(actual):
            problems += compare_shapes(recorded[key], actual[key], f"{path}.{key}")
        return problems
    if isinstance(recorded, list) and isinstance(actual, list):
        if bool(recorded) != bool(actual):
            return [f"{path}: recorded {len(recorded)} items, sandbox {len(actual)}"]
        allowed = {json.dumps(shape(item), sort_keys=True) for item in recorded}
        for index, item in enumerate(actual):
            if json.dumps(shape(item), sort_keys=True) not in allowed:
                return compare_shapes(recorded[0], item, f"{path}[{index}]") or [
                    f"{path}[{index}]: shape differs from every recorded item"]
        return []
    if type(recorded) is not type(actual):
        return [f"{path}: recorded {type(recorded).__name__}, sandbox {type(actual).__name__}"]
    return []


def xml_tree(text: str) -> Any:
    """An XML response as Python data (VALUE as str or None); errors as a tagged dict."""
    root = etree.fromstring(text.encode(), etree.XMLParser(resolve_entities=False))
    if root.tag == "EXCEPTION":
        return {"exception": root.get("class"), **{child.tag.lower(): child.text
                                                   for child in root}}
    return _xml_value(root[0]) if len(root) else None


def _xml_value(element: Any) -> Any:
    if element.tag == "SINGLE":
        return {key.get("name"): _xml_value(key[0]) for key in element}
    if element.tag == "MULTIPLE":
        return [_xml_value(child) for child in element]
    return None if element.get("null") == "null" else (element.text or "")
