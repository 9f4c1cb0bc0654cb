"""``php_json`` (written directly unless json meets ABSENT) equals the copy-first version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connector.sandbox.encoding import ABSENT, php_json


def reference_without_absent(value: object) -> object:
    if isinstance(value, dict):
        return {k: reference_without_absent(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, list):
        return [reference_without_absent(item) for item in value]
    return value


def reference_json(value: object) -> str:
    """The encoder as it was: always a copy without ABSENT keys first."""
    text = json.dumps(reference_without_absent(value), ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/")


def outcome(encode: Any, value: object) -> tuple[str, str]:
    try:
        return "ok", encode(value)
    except Exception as error:  # the kind of failure is what is compared
        return type(error).__name__, ""


class Opaque:
    pass


@pytest.mark.parametrize("value", [
    None, 1, "</p>", "Zoë", [], {}, {"a": 1, "b": [1, 2.5, True, None, "x/y"]},
    {"a": ABSENT}, {"a": 1, "b": ABSENT, "c": {"d": ABSENT, "e": [{"f": ABSENT, "g": 2}]}},
    [{"a": ABSENT}, {"b": 1}], {"t": (1, {"a": 2})}, {1: "int key", "s": ABSENT},
    ABSENT, [ABSENT], {"t": (ABSENT,)}, {"o": Opaque()}, {"a": ABSENT, "o": Opaque()},
    {"o": Opaque(), "a": ABSENT}, {(1, 2): ABSENT}, {(1, 2): 1}, {"nan": float("nan")},
])
def test_php_json_equals_the_copy_first_encoder(value: object) -> None:
    assert outcome(php_json, value) == outcome(reference_json, value)


def test_php_json_leaves_absent_keys_out() -> None:
    assert php_json({"id": 1, "idnumber": ABSENT, "url": "http://x/"}) == \
        '{"id":1,"url":"http:\\/\\/x\\/"}'
