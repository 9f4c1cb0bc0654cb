"""Configuration errors: one readable message for everything wrong with a config, never a traceback.

`ConfigError` is the root; `ConfigFileError` means the file itself could not be used (missing,
unreadable, not YAML), `ConfigValidationError` means its values (or the environment's) are wrong and
lists every `Problem`, one per line, with where it came from and what was expected.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

_MAX_VALUE_CHARS = 60


class ConfigError(Exception):
    """The configuration cannot be used; str() is the whole message, ready to show to an admin."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class ConfigFileError(ConfigError):
    """The config file is missing, unreadable or not valid YAML."""


class ConfigValidationError(ConfigError):
    """Values in the config file or the environment are wrong; `problems` lists each one."""

    def __init__(self, path: Path, problems: Sequence[Problem], note: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        header = f"Invalid configuration in {path} ({count} problem{'s' if count != 1 else ''}):"
        lines = [header, *(f"  {p}" for p in self.problems)]
        if note:
            lines.append(note)
        super().__init__("\n".join(lines), path)


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the dotted key, where it was set, the bad value (masked) and what to do."""

    key: str
    message: str
    line: int | None = None
    env_var: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = []
        if self.env_var:
            where.append(f"environment variable {self.env_var}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        where.append(self.key or "(top level)")
        got = f", got {self.value}" if self.value is not None else ""
        return f"{', '.join(where)}: {self.message}{got}"


def show_value(value: Any, secret: bool) -> str | None:
    """The value as an admin would recognise it, masked if secret; None for whole sections."""
    if secret:
        return "(hidden)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (empty)"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str | Path):
        text = str(value)
        if len(text) > _MAX_VALUE_CHARS:
            text = text[: _MAX_VALUE_CHARS - 3] + "..."
        return repr(text)
    if isinstance(value, list):
        return "a list"
    return None


def model_at(root: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The section model found by following `path` (keys or aliases) down from `root`."""
    model: type[BaseModel] | None = root
    for part in path:
        if model is None:
            return None
        field = _field_named(model, str(part))
        model = _section_type(field.annotation) if field is not None else None
    return model


def field_keys(model: type[BaseModel]) -> list[str]:
    """The keys a YAML file uses for `model`'s fields (aliases where set)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def expectation(error: ErrorDetails, root: type[BaseModel]) -> str:
    """Translate one pydantic error into plain words about what was expected."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    loc = error["loc"]
    if kind == "missing":
        field = _field_named(model_at(root, loc[:-1]) or root, str(loc[-1])) if loc else None
        hint = field.description if field is not None and field.description else ""
        if not hint:
            return "required, but not set"
        return f"required, but not set ({hint[:1].lower()}{hint[1:].rstrip('.')})"
    if kind == "extra_forbidden":
        return _unknown_key(root, loc)
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        section = model_at(root, loc)
        keys = f" ({', '.join(field_keys(section))})" if section is not None else ""
        return f"expected a section of keys{keys}, not a single value"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"expected one of {', '.join(choices)}"
    simple = _SIMPLE.get(kind)
    if simple is not None:
        return simple.format(**{k: _number(v) for k, v in ctx.items()})
    message = error["msg"]
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return message[:1].lower() + message[1:]


_SIMPLE = {
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "path_type": "expected a file path",
    "greater_than": "expected a number greater than {gt}",
    "greater_than_equal": "expected a number of at least {ge}",
    "less_than": "expected a number less than {lt}",
    "less_than_equal": "expected a number of at most {le}",
    "string_too_short": "expected at least {min_length} character(s)",
    "finite_number": "expected a finite number",
}


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _unknown_key(root: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    parent = model_at(root, loc[:-1])
    if parent is None:
        return "unknown key"
    keys = field_keys(parent)
    close = difflib.get_close_matches(str(loc[-1]), keys, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; the keys here are {', '.join(keys)}"


def _field_named(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = _section_type(arg)
            if found is not None:
                return found
    return None
