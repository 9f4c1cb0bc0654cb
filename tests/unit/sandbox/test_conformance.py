"""Every recorded exchange replayed against a blank sandbox: same keys, types, nesting, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.sandbox.app import state_of
from tests.conftest import Exchange, all_exchanges
from tests.unit.sandbox.replay import (
    Replay,
    compare_shapes,
    learn,
    post_form,
    translate,
    xml_tree,
)
from tests.unit.sandbox.setup_steps import BEFORE

# Exchanges that cannot be replayed from a blank site, with the reason. Keep this tiny.
NOT_REPLAYABLE: dict[str, str] = {}


def _post(replay: Replay, recorded: Exchange) -> tuple[str, str]:
    number = recorded.file.split("_")[0]
    path = "/login/token.php" if recorded.function == "login/token.php" else \
        "/webservice/rest/server.php"
    state_of(replay.app).settings.debugdeveloper = "DEBUG" in recorded.file
    form = translate(replay, recorded.function, recorded.params, number)
    response = post_form(replay.client, path, form)
    assert response.status_code == recorded.http_status
    return response.get_data(as_text=True), response.content_type


@pytest.fixture(scope="module")
def replayed() -> dict[str, tuple[str, str]]:
    """Replay all exchanges once, in index order; answers keyed by file name."""
    replay = Replay.start()
    answers: dict[str, tuple[str, str]] = {}
    for recorded in all_exchanges():
        number = recorded.file.split("_")[0]
        if number in BEFORE:
            BEFORE[number](replay)
        if recorded.file in NOT_REPLAYABLE:
            continue
        body, content_type = _post(replay, recorded)
        answers[recorded.file] = (body, content_type)
        if recorded.format == "json" and not recorded.body.startswith("{\"exception"):
            learn(replay, recorded.function, recorded.json, json.loads(body))
    return answers


def _error_fields(data: Any) -> dict[str, Any] | None:
    if isinstance(data, dict) and ("exception" in data or ("errorcode" in data and
                                   "error" in data)):
        return {key: data.get(key) for key in ("exception", "error", "errorcode", "message")} | {
            "has_debuginfo": data.get("debuginfo") is not None}
    return None


@pytest.mark.parametrize("recorded", all_exchanges(), ids=lambda e: e.file.split("_")[0])
def test_exchange_matches_recording(recorded: Exchange,
                                    replayed: dict[str, tuple[str, str]]) -> None:
    if recorded.file in NOT_REPLAYABLE:
        pytest.skip(NOT_REPLAYABLE[recorded.file])
    body, content_type = replayed[recorded.file]
    assert content_type == recorded.content_type
    if recorded.format == "xml":
        expected, actual = xml_tree(recorded.body), xml_tree(body)
        if isinstance(expected, dict) and "errorcode" in expected:
            assert actual == expected
            return
    else:
        expected, actual = recorded.json, json.loads(body)
    expected_error = _error_fields(expected)
    if expected_error is not None:
        assert _error_fields(actual) == expected_error
        return
    if expected is None or (isinstance(expected, bool | int) and not isinstance(expected, dict)):
        assert actual == expected
        return
    problems = compare_shapes(expected, actual)
    assert not problems, "\n".join(problems)
