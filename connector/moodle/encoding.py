"""Moodle's form encoding: nested parameters as ``name[0][key]=value``, and batching.

Moodle's REST server reads PHP's ``$_POST``, so lists and structures are sent as
bracketed keys, booleans as 1/0 and ``None`` is left out. PHP stops reading a form
after ``max_input_vars`` variables and drops the rest silently (contract 150-155), so
requests with long lists are split here into batches that stay under that limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        _add(fields, f"{prefix}[{key}]" if prefix else str(key), value)
    return fields


def _add(fields: list[tuple[str, str]], name: str, value: object) -> None:
    """Append ``value``'s fields under ``name``; plain str, int and dict are tested by exact
    type first (a batch of messages is hundreds of fields; an ABC check costs more)."""
    kind = type(value)
    if kind is str:
        fields.append((name, value))  # type: ignore[arg-type]  # kind is str
    elif kind is int:
        fields.append((name, str(value)))
    elif value is None:
        return
    elif isinstance(value, dict | Mapping):
        for key, item in value.items():
            _add(fields, f"{name}[{key}]", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _add(fields, f"{name}[{index}]", item)
    else:
        fields.append((name, encode_scalar(value)))


def _cost(value: object) -> int:
    """How many form fields ``value`` flattens to, without making them (as :func:`_add`)."""
    kind = type(value)
    if kind is str or kind is int:
        return 1
    if value is None:
        return 0
    if isinstance(value, dict | Mapping):
        return sum(map(_cost, value.values()))
    if isinstance(value, list | tuple):
        return sum(map(_cost, value))
    return 1


def count_fields(params: Mapping[str, object]) -> int:
    """How many PHP input variables a call with these parameters sends, protocol included."""
    return PROTOCOL_FIELDS + _cost(params)


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
        cost = _cost(item)
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
