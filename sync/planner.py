"""Desired frameworks versus what Moodle holds: compute the plan, write nothing.

Values are compared the way Moodle stores them (:mod:`connector.moodle.text`), so that a
re-sync of unchanged input plans nothing. The stages order the steps: frameworks first,
then competencies level by level (parents before children), moves, field updates and rules,
sibling order, and last the deletions, deepest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.moodle.text import comparable_html, same_name
from sync.actual import ActualFramework, rule_config_by_idnumber
from sync.errors import PlanError
from sync.model import Competency, DescriptionFormat, Framework, Scale
from sync.plan import (
    Change,
    CreateCompetency,
    CreateFramework,
    MissingAction,
    MissingCompetency,
    MoveCompetency,
    Op,
    Plan,
    RelateCompetencies,
    ReorderChildren,
    UpdateCompetency,
    UpdateFramework,
)

SYSTEM_CONTEXT_ID = 1

# Stage numbers: each phase leaves room for its own sub-stages (levels, sequential moves).
STAGE_FRAMEWORK = 0
STAGE_CREATE = 1_000  # + depth
STAGE_MOVE = 2_000  # + position: moves run one at a time
STAGE_UPDATE = 3_000
STAGE_RELATE = 3_500
STAGE_REORDER = 4_000
STAGE_DELETE = 5_000  # + (1000 - depth): deepest first


@dataclass(frozen=True)
class PlanOptions:
    """Choices that shape a plan: what to do with competencies gone from the source."""

    on_missing: MissingAction = "leave"
    context_id: int = SYSTEM_CONTEXT_ID


def framework_values(fw: Framework) -> dict[str, Any]:
    """The fields Moodle's create_competency_framework takes, for this framework."""
    scale = fw.scale or Scale()
    return {
        "shortname": fw.shortname, "idnumber": fw.idnumber, "description": fw.description,
        "descriptionformat": int(fw.descriptionformat), "visible": fw.visible,
        "scaleid": scale.scale_id, "scaleconfiguration": scale.configuration(),
        "taxonomies": ",".join(fw.taxonomies),
    }


def competency_values(c: Competency) -> dict[str, Any]:
    """The fields of create_competency for this competency (parent and framework at apply)."""
    values: dict[str, Any] = {"shortname": c.shortname, "idnumber": c.idnumber,
                              "description": c.description,
                              "descriptionformat": int(c.descriptionformat)}
    if c.scale is not None:
        values["scaleid"] = c.scale.scale_id
        values["scaleconfiguration"] = c.scale.configuration()
    return values


def plan_frameworks(
    desired: list[Framework],
    actual: dict[str, ActualFramework | None],
    *,
    site: str,
    options: PlanOptions | None = None,
    sources: tuple[str, ...] = (),
    related: dict[str, frozenset[tuple[str, str]]] | None = None,
) -> Plan:
    """The plan that makes each desired framework hold in Moodle; ``related`` holds, per
    framework, the relations lms-sidecar made earlier (Moodle cannot list them)."""
    options = options or PlanOptions()
    _check_scales(desired)
    ops: list[Op] = []
    basis: dict[str, str] = {}
    for fw in desired:
        current = actual.get(fw.idnumber)
        basis[fw.idnumber] = current.fingerprint() if current else ""
        ops.extend(_FrameworkPlanner(fw, current, options).ops())
        ops.extend(_relation_ops(fw, current, (related or {}).get(fw.idnumber, frozenset())))
    ops.sort(key=lambda op: op.stage)
    return Plan(site=site, ops=tuple(ops), basis=basis, sources=sources)


def _check_scales(desired: list[Framework]) -> None:
    """Web services cannot create scales: every scale must name an existing Moodle scale."""
    problems = []
    for fw in desired:
        where = f"{fw.location}: framework {fw.idnumber}"
        if fw.scale is None or fw.scale.scale_id is None:
            problems.append(f"{where}: its scale has no Moodle scale id (scale.moodle_id); "
                            "Moodle's web services cannot create scales")
        for c in fw.competencies:
            if c.scale is not None and c.scale.scale_id is None:
                problems.append(f"{c.location}: competency {c.idnumber}: its own scale has no "
                                "Moodle scale id")
    if problems:
        raise PlanError("\n".join(problems))


class _FrameworkPlanner:
    def __init__(self, fw: Framework, current: ActualFramework | None,
                 options: PlanOptions) -> None:
        self.fw = fw
        self.current = current
        self.options = options
        self.moved: list[MoveCompetency] = []

    def ops(self) -> list[Op]:
        fw, current = self.fw, self.current
        ops: list[Op] = []
        if current is None:
            values = {**framework_values(fw), "contextid": self.options.context_id}
            ops.append(CreateFramework(fw.idnumber, fw.idnumber, STAGE_FRAMEWORK,
                                       "not in Moodle yet", values=values))
        else:
            changes = _framework_changes(fw, current)
            if changes:
                ops.append(UpdateFramework(fw.idnumber, fw.idnumber, STAGE_FRAMEWORK,
                                           "fields differ", lms_id=current.framework.id,
                                           changes=changes))
        for competency in fw.iter_tree():
            ops.extend(self._competency_ops(competency))
        ops.extend(self.moved)
        ops.extend(self._reorders())
        ops.extend(self._missing())
        return ops

    def _competency_ops(self, c: Competency) -> list[Op]:
        fw, current = self.fw, self.current
        existing = current.by_idnumber.get(c.idnumber) if current else None
        if existing is None or current is None:
            ops: list[Op] = [CreateCompetency(fw.idnumber, c.idnumber, STAGE_CREATE + fw.depth(
                c.idnumber), "not in Moodle yet", parent=c.parent, values=competency_values(c))]
            rule = _rule_changes(c, None, None)
            if rule:
                ops.append(UpdateCompetency(fw.idnumber, c.idnumber, STAGE_UPDATE,
                                            "set the competency's rule", changes=tuple(rule)))
            return ops
        ops = []
        parent_now = current.parent_idnumber(existing)
        if parent_now != c.parent:
            self.moved.append(MoveCompetency(
                fw.idnumber, c.idnumber, STAGE_MOVE + len(self.moved), "parent differs",
                lms_id=existing.id, before=parent_now, after=c.parent))
        changes = _competency_changes(c, existing) + _rule_changes(c, existing, current)
        if changes:
            ops.append(UpdateCompetency(fw.idnumber, c.idnumber, STAGE_UPDATE, "fields differ",
                                        lms_id=existing.id, changes=tuple(changes)))
        return ops

    def _reorders(self) -> list[Op]:
        """Sibling order after creates and moves, predicted as Moodle appends, versus source."""
        fw, current = self.fw, self.current
        if current is None:
            return []  # everything is created in source order
        moved_away = {m.idnumber for m in self.moved}
        ops: list[Op] = []
        parents: list[str | None] = [None, *(c.idnumber for c in fw.iter_tree())]
        for parent in parents:
            wanted = tuple(c.idnumber for c in fw.children_of(parent))
            if len(wanted) < 2:
                continue
            predicted: list[str] = []
            parent_row = current.by_idnumber.get(parent) if parent else None
            if parent is None or parent_row is not None:
                parent_id = parent_row.id if parent_row else 0
                predicted = [c.idnumber for c in current.children(parent_id)
                             if c.idnumber not in moved_away]
            predicted += [i for i in wanted if i not in current.by_idnumber]
            predicted += [m.idnumber for m in self.moved if m.after == parent]
            order = tuple(i for i in predicted if i in wanted)
            if order != wanted:
                ops.append(ReorderChildren(fw.idnumber, parent or "", STAGE_REORDER,
                                           "sibling order differs", before=order, after=wanted))
        return ops

    def _missing(self) -> list[Op]:
        current = self.current
        if current is None:
            return []
        action = self.options.on_missing
        reason = "not in source"
        if action == "hide":
            action, reason = "leave", "not in source; Moodle cannot hide a single competency"
        ops: list[Op] = []
        for row in current.competencies:
            if row.idnumber in self.fw.by_idnumber:
                continue
            stage = STAGE_DELETE + 1_000 - current.depth(row)
            ops.append(MissingCompetency(self.fw.idnumber, row.idnumber, stage, reason,
                                         lms_id=row.id, shortname=row.shortname, action=action))
        return ops


def _relation_ops(fw: Framework, current: ActualFramework | None,
                  made: frozenset[tuple[str, str]]) -> list[Op]:
    wanted = fw.related_pairs()
    existing = set(current.by_idnumber) if current else set()
    ops: list[Op] = []
    for pair in sorted(wanted - made):
        ops.append(RelateCompetencies(fw.idnumber, "|".join(pair), STAGE_RELATE,
                                      "cross reference in the source", pair=pair))
    for pair in sorted(made - wanted):
        if set(pair) <= existing:
            ops.append(RelateCompetencies(fw.idnumber, "|".join(pair), STAGE_RELATE,
                                          "no longer in the source", pair=pair, related=False))
    return ops


def _text_changes(wanted: Framework | Competency, stored: Any) -> list[Change]:
    changes = []
    if not same_name(wanted.shortname, stored.shortname):
        changes.append(Change("shortname", stored.shortname, wanted.shortname))
    if int(wanted.descriptionformat) != stored.descriptionformat:
        changes.append(Change("descriptionformat", stored.descriptionformat,
                              int(wanted.descriptionformat)))
    if not _same_text(wanted.description, stored.description, wanted.descriptionformat):
        changes.append(Change("description", stored.description, wanted.description))
    return changes


def _same_text(wanted: str, stored: str, fmt: int) -> bool:
    if fmt in (DescriptionFormat.HTML, DescriptionFormat.MOODLE):
        return comparable_html(wanted) == comparable_html(stored)
    return wanted.strip() == stored.strip()


def _framework_changes(fw: Framework, current: ActualFramework) -> tuple[Change, ...]:
    stored = current.framework
    changes = _text_changes(fw, stored)
    if fw.visible != stored.visible:
        changes.append(Change("visible", stored.visible, fw.visible))
    wanted = framework_values(fw)
    if wanted["scaleid"] != stored.scaleid or not _same_scale(
            wanted["scaleconfiguration"], stored.scaleconfiguration):
        changes.append(Change("scaleid", stored.scaleid, wanted["scaleid"]))
        changes.append(Change("scaleconfiguration", stored.scaleconfiguration,
                              wanted["scaleconfiguration"]))
    if _taxonomy_list(wanted["taxonomies"]) != _taxonomy_list(stored.taxonomies):
        changes.append(Change("taxonomies", stored.taxonomies, wanted["taxonomies"]))
    return tuple(changes)


def _competency_changes(c: Competency, stored: Any) -> list[Change]:
    changes = _text_changes(c, stored)
    wanted_scale = c.scale.configuration() if c.scale else None
    wanted_id = c.scale.scale_id if c.scale else None
    if wanted_id != stored.scaleid or (
            wanted_scale is not None and not _same_scale(wanted_scale, stored.scaleconfiguration)):
        changes.append(Change("scaleid", stored.scaleid, wanted_id))
        changes.append(Change("scaleconfiguration", stored.scaleconfiguration, wanted_scale))
    return changes


def _rule_changes(c: Competency, stored: Any, current: ActualFramework | None) -> list[Change]:
    """Rule type, outcome and config; a points config names competencies by idnumber."""
    before_type = stored.ruletype if stored else None
    before_outcome = stored.ruleoutcome if stored else 0
    before_config = (rule_config_by_idnumber(stored.ruleconfig, current)
                     if stored and current else None)
    if (c.rule_type or None, int(c.rule_outcome)) == (before_type or None, before_outcome) and (
            _canonical_config(c.rule_config) == _canonical_config(before_config)):
        return []
    changes = [Change("ruletype", before_type, c.rule_type),
               Change("ruleoutcome", before_outcome, int(c.rule_outcome)),
               Change("ruleconfig", before_config, c.rule_config)]
    return [change for change in changes if change.before != change.after]


def _canonical_config(config: str | None) -> object:
    if not config:
        return None
    try:
        data = json.loads(config)
    except ValueError:
        return config
    if isinstance(data, dict) and "competencies" in data:
        return (int(data.get("base", {}).get("points", 0)),
                sorted((str(e["id"]), int(e["points"]), int(bool(e["required"])))
                       for e in data["competencies"]))
    return data


def _same_scale(wanted: str, stored: str | None) -> bool:
    if stored is None:
        return False
    try:
        return Scale.from_configuration(wanted) == Scale.from_configuration(stored)
    except ValueError:
        return wanted == stored


def _taxonomy_list(text: str) -> list[str]:
    terms = [t.strip() for t in text.split(",")]
    while terms and not terms[-1]:
        terms.pop()
    return terms

