"""Declarative parameter descriptions, validated once the way Moodle's ``external_api`` does.

A function declares its parameters as a tree of :class:`Value`, :class:`Single` and
:class:`Multiple` (Moodle's ``external_value``, ``external_single_structure``,
``external_multiple_structure``); :func:`validate` checks a decoded form against it and raises
:class:`InvalidParameterError` with Moodle's own debuginfo wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connector.sandbox.errors import InvalidParameterError

Presence = Literal["required", "optional", "default"]
ParamType = Literal["int", "bool", "float", "text", "raw", "alphanumext"]

_INT = re.compile(r"^-?[0-9]+$")
_FLOAT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_ALNUMEXT = re.compile(r"^[A-Za-z0-9_-]*$")
_BOOLS = {"1": True, "0": False, "true": True, "false": False}
_UNCHECKED = frozenset({"text", "raw"})  # any string is a valid PARAM_TEXT or PARAM_RAW


@dataclass(frozen=True)
class Value:
    """A scalar (``external_value``) of one PARAM_* type."""

    type: ParamType = "text"
    presence: Presence = "required"
    default: object = None


@dataclass(frozen=True)
class Single:
    """A structure with named keys (``external_single_structure``)."""

    fields: Mapping[str, Spec] = field(default_factory=dict)
    presence: Presence = "required"
    default: object = None


@dataclass(frozen=True)
class Multiple:
    """A list of one kind of item (``external_multiple_structure``)."""

    item: Spec
    presence: Presence = "required"
    default: object = None


Spec = Value | Single | Multiple


def req(kind: ParamType = "text") -> Value:
    """A required scalar."""
    return Value(kind, "required")


def opt(kind: ParamType = "text") -> Value:
    """An optional scalar: absent stays absent."""
    return Value(kind, "optional")


def dflt(kind: ParamType, default: object) -> Value:
    """A scalar that takes ``default`` when absent."""
    return Value(kind, "default", default)


def _clean_scalar(spec: Value, raw: object) -> object:
    if isinstance(raw, dict):
        raise InvalidParameterError("Invalid external api parameter: the value is \"Array\", "
                                    f"the server was expecting \"{spec.type}\" type")
    text = str(raw)
    if spec.type in _UNCHECKED:
        return text
    if spec.type == "int" and _INT.match(text):
        return int(text)
    expected = {"int": "int", "bool": "bool", "float": "float"}.get(spec.type, "raw")
    problem = (
        (spec.type == "int" and not _INT.match(text))
        or (spec.type == "float" and not _FLOAT.match(text))
        or (spec.type == "bool" and text.lower() not in _BOOLS)
        or (spec.type == "alphanumext" and not _ALNUMEXT.match(text))
    )
    if problem:
        raise InvalidParameterError(
            f'Invalid external api parameter: the value is "{text}", '
            f'the server was expecting "{expected}" type'
        )
    if spec.type == "int":
        return int(text)
    if spec.type == "float":
        return float(text)
    if spec.type == "bool":
        return _BOOLS[text.lower()]
    return text


def _validate_single(spec: Single, raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"Only arrays accepted. The bad value is: '{raw}'")
    remaining = dict(raw)
    result: dict[str, Any] = {}
    for key, sub in spec.fields.items():
        if key not in remaining:
            if sub.presence == "required":
                raise InvalidParameterError(f"Missing required key in single structure: {key}")
            if sub.presence == "default":
                result[key] = sub.default
            continue
        try:
            result[key] = validate(sub, remaining.pop(key))
        except InvalidParameterError as error:
            raise InvalidParameterError(
                f"{key} => Invalid parameter value detected: {error.debuginfo}"
            ) from error
    if remaining:
        keys = ", ".join(remaining)
        raise InvalidParameterError(f"Unexpected keys ({keys}) detected in parameter array.")
    return result


def validate(spec: Spec, raw: object) -> Any:
    """Check ``raw`` (strings and nested dicts from the form) against ``spec``; return clean data.

    Raises:
        InvalidParameterError: with Moodle's debuginfo for the first problem found.
    """
    if isinstance(spec, Value):
        return _clean_scalar(spec, raw)
    if isinstance(spec, Single):
        return _validate_single(spec, raw)
    if not isinstance(raw, dict):
        if raw == "":
            return []
        raise InvalidParameterError(f"Only arrays accepted. The bad value is: '{raw}'")
    return [validate(spec.item, item) for item in raw.values()]

