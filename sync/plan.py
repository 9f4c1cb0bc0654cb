"""A plan is data: the typed operations that would make the LMS match the source.

Nothing here talks to the LMS. :mod:`sync.planner` computes a :class:`Plan`,
:mod:`sync.render` shows it, :mod:`sync.apply` carries it out. A plan can be saved as JSON
(``sidecar plan --out FILE``) and applied later exactly as it was shown; its ``basis``
records what the LMS held when it was made, so that a stale plan is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

PLAN_FORMAT = 1

MissingAction = Literal["leave", "hide", "delete"]


@dataclass(frozen=True)
class Change:
    """One field that differs: what Moodle holds now, and what the source wants."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Op:
    """One step of a plan. ``framework`` and ``idnumber`` name the object; ``stage`` orders
    the steps (lower first; steps of one stage may run in parallel)."""

    kind: ClassVar[str] = "op"
    writes: ClassVar[bool] = True

    framework: str
    idnumber: str
    stage: int
    reason: str = ""

    @property
    def op_id(self) -> str:
        """Stable id of the step, the same for the same change in any plan."""
        return f"{self.kind}:{self.framework}:{self.idnumber}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class CreateFramework(Op):
    kind: ClassVar[str] = "create_framework"
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateFramework(Op):
    kind: ClassVar[str] = "update_framework"
    lms_id: int = 0
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class CreateCompetency(Op):
    """Create a competency under ``parent`` (an idnumber; None at the top level)."""

    kind: ClassVar[str] = "create_competency"
    parent: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateCompetency(Op):
    kind: ClassVar[str] = "update_competency"
    lms_id: int = 0
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class MoveCompetency(Op):
    """Give a competency another parent (idnumbers; None is the top level)."""

    kind: ClassVar[str] = "move_competency"
    lms_id: int = 0
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class ReorderChildren(Op):
    """Put the children of ``idnumber`` ("" for the top level) into the source's order."""

    kind: ClassVar[str] = "reorder_children"
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelateCompetencies(Op):
    """Relate two competencies (a cross reference), or drop a relation lms-sidecar made.

    Moodle's web services cannot list relations, so the plan compares the source with the
    relations lms-sidecar remembers making.
    """

    kind: ClassVar[str] = "relate_competencies"
    pair: tuple[str, str] = ("", "")
    related: bool = True


@dataclass(frozen=True)
class MissingCompetency(Op):
    """A competency Moodle holds that the source no longer has, and what to do about it."""

    kind: ClassVar[str] = "missing_competency"
    lms_id: int = 0
    shortname: str = ""
    action: MissingAction = "leave"

    @property
    def does_write(self) -> bool:
        return self.action == "delete"


OP_TYPES: dict[str, type[Op]] = {
    cls.kind: cls
    for cls in (CreateFramework, UpdateFramework, CreateCompetency, UpdateCompetency,
                MoveCompetency, ReorderChildren, RelateCompetencies, MissingCompetency)
}

OpType = TypeVar("OpType", bound=type[Op])


def register_op(cls: OpType) -> OpType:
    """Class decorator: let :meth:`Plan.from_json` read an op kind defined in another package
    (the skills map's course links use the same plans, journal and applier)."""
    OP_TYPES[cls.kind] = cls
    return cls


def writes(op: Op) -> bool:
    """Whether carrying out ``op`` changes anything in the LMS."""
    return op.does_write if isinstance(op, MissingCompetency) else op.writes


@dataclass(frozen=True)
class Plan:
    """What would change in one site, in the order it would be done.

    ``basis`` maps each framework idnumber to a fingerprint of what the LMS held when the
    plan was made ("" for a framework that did not exist yet).
    """

    site: str
    ops: tuple[Op, ...]
    basis: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(
        timespec="seconds"))
    sources: tuple[str, ...] = ()

    @property
    def changes(self) -> tuple[Op, ...]:
        """The operations that write to the LMS."""
        return tuple(op for op in self.ops if writes(op))

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def count(self) -> dict[str, int]:
        """How many operations of each kind; "missing" counts those left alone too."""
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.kind] = counts.get(op.kind, 0) + 1
        return counts

    def stages(self) -> list[list[Op]]:
        """The writing operations grouped by stage, in the order to run them."""
        grouped: dict[int, list[Op]] = {}
        for op in self.changes:
            grouped.setdefault(op.stage, []).append(op)
        return [grouped[stage] for stage in sorted(grouped)]

    def to_json(self) -> str:
        return json.dumps({
            "format": PLAN_FORMAT, "site": self.site, "created_at": self.created_at,
            "sources": list(self.sources), "basis": self.basis,
            "ops": [op.to_dict() for op in self.ops],
        }, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Read a saved plan.

        Raises:
            ValueError: not a plan file of this version; the message says why.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a plan file: {exc.msg} at line {exc.lineno}") from exc
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise ValueError(f"not a plan file of format {PLAN_FORMAT}")
        ops = tuple(_op_from_dict(item) for item in data["ops"])
        return cls(site=data["site"], ops=ops, basis=dict(data["basis"]),
                   created_at=data["created_at"], sources=tuple(data.get("sources", ())))


def _op_from_dict(data: dict[str, Any]) -> Op:
    kind = data.get("kind")
    if kind not in OP_TYPES:
        raise ValueError(f"unknown operation kind {kind!r} in plan file")
    cls = OP_TYPES[str(kind)]
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in known}
    if "changes" in values:
        values["changes"] = tuple(Change(**c) for c in values["changes"])
    for name in ("before", "after", "pair"):
        if isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    return cls(**values)
