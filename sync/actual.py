"""What the LMS holds now: one list call for the frameworks, one per framework for its tree."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property

from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from connector.moodle.text import plain_name
from sync.model import Competency, Framework, Scale, normalise_points_config


@dataclass(frozen=True)
class ActualFramework:
    """A framework as Moodle holds it, with every competency in it."""

    framework: m.CompetencyFramework
    competencies: tuple[m.Competency, ...]

    @cached_property
    def by_idnumber(self) -> dict[str, m.Competency]:
        return {c.idnumber: c for c in self.competencies}

    @cached_property
    def by_id(self) -> dict[int, m.Competency]:
        return {c.id: c for c in self.competencies}

    def parent_idnumber(self, competency: m.Competency) -> str | None:
        """The parent's idnumber, None at the top level."""
        parent = self.by_id.get(competency.parentid)
        return parent.idnumber if parent else None

    @cached_property
    def _children(self) -> dict[int, tuple[m.Competency, ...]]:
        # One pass for all parents: a scan per call made planning quadratic (the planner
        # asks once per parent; 75 s for 50,000 competencies, see docs/benchmarks.md).
        groups: dict[int, list[m.Competency]] = {}
        for c in self.competencies:
            groups.setdefault(c.parentid, []).append(c)
        return {parent: tuple(sorted(rows, key=lambda c: (c.sortorder, c.id)))
                for parent, rows in groups.items()}

    def children(self, parent_id: int) -> list[m.Competency]:
        """Direct children of ``parent_id`` (0: the top level) in Moodle's sort order."""
        return list(self._children.get(parent_id, ()))

    def depth(self, competency: m.Competency) -> int:
        """1 at the top level; Moodle's ``path`` is ``/0/<ancestor ids>/``."""
        return competency.path.strip("/").count("/") + 1

    def fingerprint(self) -> str:
        """A digest of everything a plan depends on; it changes when anyone edits the tree."""
        fw = self.framework
        state = [fw.id, fw.shortname, fw.description, fw.descriptionformat, fw.visible,
                 fw.scaleid, fw.scaleconfiguration, fw.taxonomies, fw.timemodified]
        state += sorted([c.id, c.idnumber, c.shortname, c.description, c.descriptionformat,
                         c.parentid, c.sortorder, c.ruletype, c.ruleoutcome, c.ruleconfig,
                         c.scaleid, c.scaleconfiguration, c.timemodified]
                        for c in self.competencies)
        digest = hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()
        return digest[:16]


def read_frameworks(
    client: MoodleClient, idnumbers: Iterable[str]
) -> dict[str, ActualFramework | None]:
    """Read the frameworks with these idnumbers and their whole trees.

    Costs one call for the list of frameworks and one per framework found (``limit=0``
    returns every competency in one answer), run concurrently.
    """
    wanted = list(dict.fromkeys(idnumbers))
    found = {fw.idnumber: fw for fw in client.list_frameworks() if fw.idnumber in wanted}
    present = [found[i] for i in wanted if i in found]
    trees = client.map(ep.LIST_COMPETENCIES, [
        ep.ListCompetencies(filters=[ep.Filter(column="competencyframeworkid", value=fw.id)])
        for fw in present])
    result: dict[str, ActualFramework | None] = dict.fromkeys(wanted)
    for fw, tree in zip(present, trees, strict=True):
        result[fw.idnumber] = ActualFramework(fw, tuple(tree))
    return result


def scale_names(client: MoodleClient, actual: ActualFramework) -> dict[int, tuple[str, ...]]:
    """The item names of every scale the framework uses (one call per scale)."""
    ids = {actual.framework.scaleid} | {c.scaleid for c in actual.competencies if c.scaleid}
    return {scale_id: client.scale_values(scale_id) for scale_id in sorted(ids)}


def to_framework(actual: ActualFramework, names: dict[int, tuple[str, ...]] | None = None,
                 related: frozenset[tuple[str, str]] = frozenset()) -> Framework:
    """What Moodle holds, as the source model (for ``sidecar pull``).

    Names lose Moodle's escaping (``&amp;`` becomes ``&``); a points rule's config names
    competencies by idnumber; competencies come parents first, siblings in Moodle's order.
    Moodle's web services cannot list cross references: ``related`` gives the pairs
    lms-sidecar made (from the store). ``names`` gives the item names of the scales (see
    :func:`scale_names`); without them the scales carry ids only.
    """
    names = names or {}

    def scale(configuration: str | None) -> Scale | None:
        if not configuration:
            return None
        parsed = Scale.from_configuration(configuration)
        return replace(parsed, values=names.get(parsed.scale_id or 0, ()))

    fw = actual.framework
    rows: list[Competency] = []

    def add_children(parent_id: int, parent: str | None) -> None:
        for row in actual.children(parent_id):
            rows.append(Competency(
                idnumber=row.idnumber, shortname=plain_name(row.shortname),
                description=row.description, descriptionformat=row.descriptionformat,
                parent=parent, rule_type=row.ruletype, rule_outcome=row.ruleoutcome,
                rule_config=rule_config_by_idnumber(row.ruleconfig, actual),
                scale=scale(row.scaleconfiguration),
                related=tuple(sorted(b for a, b in related if a == row.idnumber))))
            add_children(row.id, row.idnumber)

    add_children(0, None)
    return Framework(
        idnumber=fw.idnumber, shortname=plain_name(fw.shortname), description=fw.description,
        descriptionformat=fw.descriptionformat, visible=fw.visible,
        scale=scale(fw.scaleconfiguration),
        taxonomies=tuple(t for t in fw.taxonomies.split(",")) if fw.taxonomies else (),
        competencies=tuple(rows))


def rule_config_by_idnumber(config: str | None, actual: ActualFramework) -> str | None:
    """A points rule config with Moodle ids turned into idnumbers (others unchanged)."""
    if not config:
        return None
    try:
        data = json.loads(config)
        for entry in data.get("competencies", []):
            entry["id"] = actual.by_id[int(entry["id"])].idnumber
    except (ValueError, TypeError, KeyError, AttributeError):
        return config
    return normalise_points_config(json.dumps(data))
