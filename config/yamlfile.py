"""Reading the YAML config file, keeping the line of every key so that errors can point at it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from config.errors import ConfigFileError, Problem

Key = tuple[str, ...]


@dataclass(frozen=True)
class YamlDocument:
    """The file's values, the 1-based line of each key path, and keys written twice."""

    path: Path
    data: dict[str, Any]
    lines: dict[Key, int] = field(default_factory=dict)
    duplicates: tuple[Problem, ...] = ()
    empty: bool = False

    def line_of(self, key: Sequence[str | int], exact: bool = True) -> int | None:
        """Line of `key`; with exact=False, of its nearest enclosing key written in the file."""
        parts = tuple(str(p) for p in key)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            if exact:
                return None
            parts = parts[:-1]
        return None


class _KeysAsWrittenLoader(yaml.SafeLoader):
    """Safe loader that keeps mapping keys as the text written, so `on:` or `1:` stay names.

    Config keys are names; YAML 1.1 would turn `on:`/`yes:` into booleans and `1:` into an int,
    which pydantic cannot report as an unknown key.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.constructor.ConstructorError(
                    "while reading a section",
                    node.start_mark,
                    "found a key that is not a plain name",
                    key_node.start_mark,
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse `path`.

    Raises:
        ConfigFileError: the file is unreadable, not YAML, or not a mapping of sections.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(
            f"Could not read config file {path}: it is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start}).",
            path,
        ) from exc
    except OSError as exc:
        raise ConfigFileError(
            f"Could not read config file {path}: {exc.strerror or exc}.", path
        ) from exc
    loader = _KeysAsWrittenLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise ConfigFileError(_syntax_message(path, exc), path) from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"Config file {path} is not valid YAML: {exc}", path) from exc
    finally:
        loader.dispose()
    if data is None or node is None:
        return YamlDocument(path=path, data={}, empty=True)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the single value {str(data)[:40]!r}"
        raise ConfigFileError(
            f"Config file {path} must hold sections of keys (lms:, store:, ...), but it holds "
            f"{kind}. `sidecar init` writes a commented starter file.",
            path,
        )
    lines: dict[Key, int] = {}
    duplicates: list[Problem] = []
    _walk(node, (), lines, duplicates)
    return YamlDocument(path=path, data=data, lines=lines, duplicates=tuple(duplicates))


def _walk(node: yaml.Node, prefix: Key, lines: dict[Key, int], dups: list[Problem]) -> None:
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
            continue
        path = (*prefix, str(key_node.value))
        line = key_node.start_mark.line + 1
        if path in lines:
            dups.append(
                Problem(
                    key=".".join(path),
                    message=f"written twice (first at line {lines[path]}); keep one",
                    line=line,
                )
            )
        else:
            lines[path] = line
        _walk(value_node, path, lines, dups)


def _syntax_message(path: Path, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "not valid YAML"
    message = f"Config file {path} is not valid YAML{where}: {problem}"
    if exc.context and exc.problem:
        message += f" ({exc.context})"
    if "'\\t'" in problem:
        message += "\nYAML does not allow tabs for indentation; indent with spaces."
    snippet = mark.get_snippet() if mark is not None else None
    if snippet:
        message += "\n" + snippet
    return message
