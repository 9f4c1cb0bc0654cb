"""The desired state of a competency framework, independent of file formats and of Moodle ids.

Readers in `sync.sources` build these frozen values and validate them; the planner compares them
with what Moodle holds. Identity is the idnumber: a framework's idnumber is unique on the site, a
competency's idnumber is unique within its framework.

Moodle's own limits, as found in Moodle's source (moodle/moodle):

- `lib/db/install.xml`: tables `competency` and `competency_framework` declare `shortname` and
  `idnumber` as `char(100)`, `ruletype` as `char(100)` and the framework's `taxonomies` as
  `char(255)`; the unique indexes are `(competencyframeworkid, idnumber)` and `idnumber`.
- `competency/classes/competency.php` and `competency_framework.php` (the persistents):
  `shortname` is PARAM_TEXT (tags stripped), `descriptionformat` must be one of FORMAT_MOODLE 0,
  FORMAT_HTML 1, FORMAT_PLAIN 2, FORMAT_MARKDOWN 4 (default HTML), `ruleoutcome` one of
  OUTCOME_NONE 0, OUTCOME_EVIDENCE 1, OUTCOME_COMPLETE 2, OUTCOME_RECOMMEND 3, `ruletype` a
  subclass of `core_competency\\competency_rule` (core ships `competency_rule_all` and
  `competency_rule_points`); a scale configuration is valid only with at least one item marked
  default and one marked proficient, its first element naming the scale id; a framework must
  have a scale, a competency may have its own; taxonomy terms are the eleven `TAXONOMY_*` words.
- `competency_rule_points.php`: its config is `{"base": {"points": N}, "competencies": [{"id",
  "points", "required"}]}` with N >= 1, every listed competency a direct child, no duplicates,
  and N no more than the sum of the points; `competency_rule_all` takes no config (null).
- `admin/tool/lpimportcsv/classes/framework_importer.php` silently shortens names and idnumbers
  to 100 characters; lms-sidecar reports them instead.

A points rule's config is held as Moodle holds it, except that each `competencies[].id` is the
competency's idnumber (a string) instead of a Moodle id, so that the model carries no site ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from types import MappingProxyType

SHORTNAME_MAX = 100
IDNUMBER_MAX = 100
TAXONOMIES_MAX = 255


class DescriptionFormat(IntEnum):
    """Moodle's text formats (FORMAT_* constants)."""

    MOODLE = 0
    HTML = 1
    PLAIN = 2
    MARKDOWN = 4


class RuleOutcome(IntEnum):
    """What a competency rule does when it matches (core_competency\\competency::OUTCOME_*)."""

    NONE = 0
    EVIDENCE = 1
    COMPLETE = 2
    RECOMMEND = 3


RULE_ALL = "core_competency\\competency_rule_all"
RULE_POINTS = "core_competency\\competency_rule_points"
RULE_TYPES = (RULE_ALL, RULE_POINTS)

TAXONOMY_TERMS = (
    "behaviour",
    "competency",
    "concept",
    "domain",
    "indicator",
    "level",
    "outcome",
    "practice",
    "proficiency",
    "skill",
    "value",
)


@dataclass(frozen=True)
class SourceLocation:
    """Where a value came from, for error messages: a file plus a line or a CASE item id."""

    file: str
    line: int | None = None
    item: str | None = None

    def __str__(self) -> str:
        text = self.file if self.line is None else f"{self.file}:{self.line}"
        return text if self.item is None else f"{text} [item {self.item}]"


NOWHERE = SourceLocation("<memory>")


@dataclass(frozen=True)
class Scale:
    """A rating scale and its configuration.

    `values` are the scale's item names in order (Moodle matches or creates a site scale by
    them); `scale_id` is a Moodle scale id, used when the values are not known or as a hint.
    `default` and `proficient` are 1-based positions of scale items, as in Moodle's
    scaleconfiguration (`id` of each item).
    """

    values: tuple[str, ...] = ()
    scale_id: int | None = None
    default: int | None = None
    proficient: tuple[int, ...] = ()

    def configuration(self, scale_id: int | str | None = None) -> str:
        """Moodle's scaleconfiguration JSON for this scale, naming `scale_id` (or `self.scale_id`).

        Lists the items that are default or proficient, in item order, the way Moodle's
        competency pages write it.
        """
        sid = scale_id if scale_id is not None else self.scale_id
        parts: list[dict[str, object]] = [{"scaleid": str(sid if sid is not None else 0)}]
        flagged = sorted({*self.proficient, *([self.default] if self.default else [])})
        for item in flagged:
            parts.append(
                {
                    "id": item,
                    "scaledefault": int(item == self.default),
                    "proficient": int(item in self.proficient),
                }
            )
        return json.dumps(parts, separators=(",", ":"))

    @classmethod
    def from_configuration(cls, text: str, values: tuple[str, ...] = ()) -> Scale:
        """Parse Moodle's scaleconfiguration JSON (plus the scale's value names, if known).

        Raises:
            ValueError: the text is not JSON of Moodle's shape; the message says why.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"scale configuration is not JSON ({e.msg})") from e
        if not isinstance(data, list) or not data or not isinstance(data[0], dict):
            raise ValueError('scale configuration must be a JSON list starting with {"scaleid"}')
        head, items = data[0], data[1:]
        if "scaleid" not in head:
            raise ValueError("scale configuration's first element has no scaleid")
        try:
            scale_id = int(head["scaleid"])
            default: int | None = None
            proficient: list[int] = []
            for entry in items:
                item = int(entry["id"])
                if entry.get("scaledefault") and default is None:
                    default = item
                if entry.get("proficient"):
                    proficient.append(item)
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError("scale configuration items need integer ids") from e
        return cls(values, scale_id or None, default, tuple(sorted(set(proficient))))


def normalise_points_config(config: str) -> str:
    """A points rule config in one canonical JSON form, so equal rules compare equal.

    Ids stay as given (idnumbers in the model); points become ints and `required` 0 or 1.
    Text that is not a points config is returned unchanged (validation reports it).
    """
    try:
        data = json.loads(config)
        canonical = {
            "base": {"points": int(data["base"]["points"])},
            "competencies": [
                {
                    "id": str(e["id"]),
                    "points": int(e["points"]),
                    "required": int(bool(e["required"])),
                }
                for e in data["competencies"]
            ],
        }
    except (ValueError, TypeError, KeyError):
        return config
    return json.dumps(canonical, separators=(",", ":"))


DEFAULT_SCALE = Scale(("Not yet competent", "Competent"), scale_id=2, default=1, proficient=(2,))
"""Moodle's "Default competence scale" (id 2 on a standard install), for sources without one."""


@dataclass(frozen=True)
class Competency:
    """One competency as the source wants it; `parent` is the parent's idnumber or None."""

    idnumber: str
    shortname: str
    description: str = ""
    descriptionformat: int = DescriptionFormat.HTML
    parent: str | None = None
    rule_type: str | None = None
    rule_outcome: int = RuleOutcome.NONE
    rule_config: str | None = None
    scale: Scale | None = None
    related: tuple[str, ...] = ()
    location: SourceLocation = field(default=NOWHERE, compare=False)


@dataclass(frozen=True, eq=False)
class Framework:
    """A competency framework and its competencies, in source order.

    Two frameworks are equal when their fields and their trees are: the same competencies
    under the same parents with siblings in the same order. How branches interleave in the
    source (a CSV may list all top-level rows first) does not matter, as it does not to Moodle.
    The tree helpers assume a validated framework (no cycles, known parents); readers in
    `sync.sources` only hand out validated frameworks.
    """

    idnumber: str
    shortname: str
    description: str = ""
    descriptionformat: int = DescriptionFormat.HTML
    visible: bool = True
    scale: Scale | None = DEFAULT_SCALE
    taxonomies: tuple[str, ...] = ()
    competencies: tuple[Competency, ...] = ()
    location: SourceLocation = field(default=NOWHERE, compare=False)

    def _key(self) -> tuple[object, ...]:
        ordered = list(self.iter_tree())
        placed = {id(c) for c in ordered}
        ordered += [c for c in self.competencies if id(c) not in placed]
        return (
            self.idnumber,
            self.shortname,
            self.description,
            self.descriptionformat,
            self.visible,
            self.scale,
            self.taxonomies,
            tuple(ordered),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Framework):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @cached_property
    def by_idnumber(self) -> MappingProxyType[str, Competency]:
        """Competencies by idnumber (the first one wins if a source repeated an idnumber)."""
        index: dict[str, Competency] = {}
        for competency in self.competencies:
            index.setdefault(competency.idnumber, competency)
        return MappingProxyType(index)

    @cached_property
    def _children(self) -> MappingProxyType[str | None, tuple[Competency, ...]]:
        groups: dict[str | None, list[Competency]] = {}
        for competency in self.competencies:
            groups.setdefault(competency.parent, []).append(competency)
        return MappingProxyType({key: tuple(value) for key, value in groups.items()})

    def get(self, idnumber: str) -> Competency:
        """The competency with this idnumber. Raises KeyError if there is none."""
        return self.by_idnumber[idnumber]

    def children_of(self, idnumber: str | None) -> tuple[Competency, ...]:
        """Direct children of a competency (None: the top level), in source order."""
        return self._children.get(idnumber, ())

    def depth(self, idnumber: str) -> int:
        """Level of a competency: 1 at the top, as Moodle's `competency::get_level()` counts.

        Raises:
            KeyError: unknown idnumber or parent; ValueError: the parents form a cycle.
        """
        level, seen, current = 1, {idnumber}, self.by_idnumber[idnumber]
        while current.parent is not None:
            if current.parent in seen:
                raise ValueError(f"competency {idnumber!r} is in a parent cycle")
            seen.add(current.parent)
            current = self.by_idnumber[current.parent]
            level += 1
        return level

    def iter_tree(self) -> Iterator[Competency]:
        """Every competency, depth first, parents before children, siblings in source order."""
        stack = list(reversed(self.children_of(None)))
        seen: set[int] = set()
        while stack:
            competency = stack.pop()
            if id(competency) in seen:  # only an invalid framework (repeated idnumbers) loops
                continue
            seen.add(id(competency))
            yield competency
            stack.extend(reversed(self.children_of(competency.idnumber)))

    def levels(self) -> tuple[tuple[Competency, ...], ...]:
        """Competencies level by level (top level first): the order to create them in."""
        result: list[tuple[Competency, ...]] = []
        current = self.children_of(None)
        while current:
            result.append(current)
            current = tuple(c for p in current for c in self.children_of(p.idnumber))
        return tuple(result)

    @property
    def max_depth(self) -> int:
        """Number of levels in the tree (0 for an empty framework)."""
        return len(self.levels())

    def taxonomy(self, level: int) -> str:
        """The taxonomy word for a level (1-based), "competency" where none is set, like Moodle."""
        if 1 <= level <= len(self.taxonomies) and self.taxonomies[level - 1]:
            return self.taxonomies[level - 1]
        return "competency"

    def related_pairs(self) -> frozenset[tuple[str, str]]:
        """Cross references as Moodle stores them: unordered pairs, each as a sorted tuple."""
        pairs: set[tuple[str, str]] = set()
        for competency in self.competencies:
            for other in competency.related:
                first, second = sorted((competency.idnumber, other))
                pairs.add((first, second))
        return frozenset(pairs)
