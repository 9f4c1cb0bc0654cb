"""The course-link functions of Totara's legacy services: pages followed to the end, a null
answer or a short read never taken for "no competencies", refusals named with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from connector import errors as e
from connector.totara import legacy as lg


class FakeClient:
    """Answers each call from a queue; records the parameters sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent: list[tuple[str, Any]] = []

    def call(self, endpoint: Any, params: Any = None) -> Any:
        self.sent.append((endpoint.function, params.form() if params else {}))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return endpoint.adapter.validate_python(answer)


def page(ids: list[int], next_page: int | None, total: int) -> dict[str, Any]:
    return {"items": [{"id": i, "fullname": f"C{i}", "parentid": 0, "frameworkid": 5}
                      for i in ids], "page": 1, "next": next_page, "total": total}


def test_every_page_is_read_following_next():
    client = FakeClient(page([1, 2], 2, 3), page([3], None, 3))
    found = lg.LegacyCompetencies(client).competencies(5)  # type: ignore[arg-type]
    assert [c.id for c in found] == [1, 2, 3]
    assert client.sent[0] == ("totara_competency_competency_index", {
        "filters": {"framework": 5}, "page": 1, "order": "id", "direction": "asc"})
    assert client.sent[1][1]["page"] == 2


def test_a_short_read_is_an_error_not_fewer_competencies():
    client = FakeClient(page([1, 2], None, 5))
    with pytest.raises(e.LmsResponseError, match="read 2 of 5 competencies"):
        lg.LegacyCompetencies(client).competencies(5)  # type: ignore[arg-type]


def test_a_null_answer_says_the_rest_server_dropped_it():
    client = FakeClient(None)
    with pytest.raises(lg.UndeclaredAnswerError) as raised:
        lg.LegacyCompetencies(client).frameworks()  # type: ignore[arg-type]
    assert "totara_competency_get_frameworks answered null" in str(raised.value)
    assert raised.value.wsfunction == "totara_competency_get_frameworks"


def test_a_refused_index_names_the_feature_and_capabilities():
    client = FakeClient(e.MoodleError("Feature not available", errorcode="x",
                                      wsfunction="totara_competency_competency_index"))
    with pytest.raises(lg.CompetencyIndexRefusedError) as raised:
        lg.LegacyCompetencies(client).competencies(5)  # type: ignore[arg-type]
    assert "competency_assignment" in str(raised.value)
    assert "totara/competency:view_assignments" in str(raised.value)


def test_set_linked_courses_sends_totaras_parameter_names():
    client = FakeClient(None)
    lg.LegacyCompetencies(client).set_linked_courses(7, [(3, True), (4, False)])  # type: ignore[arg-type]
    assert client.sent == [("totara_competency_set_linked_courses", {
        "competency_id": 7, "courses": [{"id": 3, "mandatory": True},
                                        {"id": 4, "mandatory": False}]})]
