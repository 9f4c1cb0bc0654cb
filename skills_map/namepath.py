"""Finding competencies by their name path, on a site that never answers idnumbers.

The competencies were written by lms-sidecar itself (its last export holds each one's
framework, name and parent), so a competency is found by walking names down the tree: the
framework by its full name, then each competency by (parent, name). Only an exact, unique
match counts; a name that matches nothing or several competencies under the same parent is
reported with the likely reason and not resolved. Nothing is guessed.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Key = tuple[str, str]  # (framework idnumber, competency idnumber)


@dataclass(frozen=True)
class ExportedCompetency:
    """A competency as lms-sidecar last exported it (``parent`` is an idnumber or "")."""

    framework: str
    framework_name: str
    idnumber: str
    name: str
    parent: str = ""


@dataclass(frozen=True)
class SiteNode:
    """A framework or competency as the site lists it: id, shown name, parent id (0: top)."""

    id: int
    name: str
    parent_id: int = 0


@dataclass(frozen=True)
class Resolution:
    """Site ids of the competencies found, and why the others were not found."""

    ids: dict[Key, int] = field(default_factory=dict)
    problems: dict[Key, str] = field(default_factory=dict)

    def name_of(self, competency_id: int) -> Key | None:
        return next((k for k, v in self.ids.items() if v == competency_id), None)


def same_name(shown: str, name: str) -> bool:
    """Equal once the site's HTML escaping (``format_string``) is undone; nothing else."""
    return html.unescape(shown).strip() == name.strip()


def find_framework(name: str, frameworks: Sequence[SiteNode]) -> int | str:
    """The id of the one framework with this full name, else the reason there is none."""
    found = [f.id for f in frameworks if same_name(f.name, name)]
    if len(found) == 1:
        return found[0]
    if not found:
        return (f"no framework named {name!r} on the site (create it there with exactly this "
                "full name, or rename it back)")
    return f"{len(found)} frameworks are named {name!r} on the site (duplicate names)"


def resolve(exported: Sequence[ExportedCompetency], frameworks: Mapping[str, int | str],
            competencies: Mapping[int, Sequence[SiteNode]]) -> Resolution:
    """Resolve every exported competency of the frameworks in ``frameworks``.

    ``frameworks`` maps a framework idnumber to its site id or to the reason it was not found;
    ``competencies`` holds the site's competencies of each found framework id.
    """
    rows = {(c.framework, c.idnumber): c for c in exported if c.framework in frameworks}
    result = Resolution()
    walker = _Walker(rows, frameworks, competencies, result)
    for key in rows:
        walker.resolve(key)
    return result


class _Walker:
    def __init__(self, rows: Mapping[Key, ExportedCompetency],
                 frameworks: Mapping[str, int | str],
                 competencies: Mapping[int, Sequence[SiteNode]], result: Resolution) -> None:
        self.rows = rows
        self.frameworks = frameworks
        self.result = result
        self.children: dict[tuple[int, int], list[SiteNode]] = {}
        for framework_id, nodes in competencies.items():
            for node in nodes:
                self.children.setdefault((framework_id, node.parent_id), []).append(node)

    def resolve(self, key: Key, depth: int = 0) -> int | None:
        if key in self.result.ids:
            return self.result.ids[key]
        if key in self.result.problems:
            return None
        row = self.rows.get(key)
        framework = self.frameworks.get(key[0])
        if row is None:
            return self._fail(key, f"{key[1]!r} is not in framework {key[0]!r} of the last "
                              "export")
        if not isinstance(framework, int):
            return self._fail(key, f"framework {row.framework_name!r}: {framework}")
        parent_id = 0
        if row.parent:
            if depth > len(self.rows):
                return self._fail(key, "its parents form a loop in the last export")
            found = self.resolve((row.framework, row.parent), depth + 1)
            if found is None:
                return self._fail(key, f"its parent {row.parent!r} was not found")
            parent_id = found
        return self._match(key, row, framework, parent_id)

    def _match(self, key: Key, row: ExportedCompetency, framework: int,
               parent_id: int) -> int | None:
        where = f"under {row.parent!r}" if row.parent else "at the top"
        nodes = [n for n in self.children.get((framework, parent_id), [])
                 if same_name(n.name, row.name)]
        if len(nodes) == 1:
            self.result.ids[key] = nodes[0].id
            return nodes[0].id
        if not nodes:
            return self._fail(key, f"no competency named {row.name!r} {where} in framework "
                              f"{row.framework_name!r} (renamed or moved on the site, or not "
                              "imported yet?)")
        return self._fail(key, f"{len(nodes)} competencies are named {row.name!r} {where} in "
                          f"framework {row.framework_name!r} (duplicate names): not linked")

    def _fail(self, key: Key, reason: str) -> int | None:
        self.result.problems[key] = reason
        return self.result.ids.get(key)
