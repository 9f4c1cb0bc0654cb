"""Moodle's form encoding: nested parameters as ``name[0][key]=value``, and batching.

Moodle's REST server reads PHP's ``$_POST``, so lists and structures are sent as
bracketed keys, booleans as 1/0 and ``None`` is left out. PHP stops reading a form
after ``max_input_vars`` variables and drops the rest silently (contract 150-155), so
requests with long lists are split here into batches that stay under that limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from enum import Enum

#: A parameter value before encoding.
Param = object

#: wstoken, wsfunction and moodlewsrestformat ride along with every call.
PROTOCOL_FIELDS = 3


def encode_scalar(value: object) -> str:
    """One value as Moodle expects it in a form: booleans 1/0, enums by value."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Enum):
        return encode_scalar(value.value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def flatten(params: Mapping[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts and lists into Moodle's bracketed form fields, in order.

    >>> flatten({"a": [{"b": [1, True]}], "c": None})
    [('a[0][b][0]', '1'), ('a[0][b][1]', '1')]
    """
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        fields.extend(_flatten_value(name, value))
    return fields


def _flatten_value(name: str, value: object) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        yield from flatten(value, name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _flatten_value(f"{name}[{index}]", item)
    else:
        yield name, encode_scalar(value)


def count_fields(params: Mapping[str, object]) -> int:
    """How many PHP input variables a call with these parameters sends, protocol included."""
    return PROTOCOL_FIELDS + len(flatten(params))


def split_batches(
    params: Mapping[str, object], batch_key: str, max_input_vars: int
) -> list[dict[str, object]]:
    """Split the list ``params[batch_key]`` so each request stays within ``max_input_vars``.

    Every form variable counts, the protocol fields included: a list of structures with
    three keys costs three variables per item. Returns one parameter dict per request
    (a single one when everything fits, or when the list is empty).

    Raises:
        ValueError: when even one item with the other parameters does not fit.
    """
    items = params.get(batch_key)
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise TypeError(f"batch parameter {batch_key!r} must be a list")
    rest = {k: v for k, v in params.items() if k != batch_key}
    budget = max_input_vars - count_fields(rest)
    batches: list[dict[str, object]] = []
    current: list[object] = []
    used = 0
    for item in items:
        cost = len(list(_flatten_value("x", item)))
        if cost > budget:
            raise ValueError(
                f"one item of {batch_key!r} needs {cost} form variables, "
                f"more than the {budget} left under max_input_vars={max_input_vars}"
            )
        if used + cost > budget:
            batches.append({**rest, batch_key: current})
            current, used = [], 0
        current.append(item)
        used += cost
    if current or not batches:
        batches.append({**rest, batch_key: current})
    return batches
