"""The framework sync for Totara: the sources as HR Import competency files, planned against
what was last exported.

Totara's external API cannot write competencies, so a run writes one CSV file (see
:mod:`connector.totara.hrimport`) that Totara's HR Import picks up on its cron. The plan is the
difference between the sources and the last export, which the store keeps in the summary of
the last succeeded ``hr_import`` run. Nothing is deleted unless ``on_missing`` is ``delete``:
a competency gone from the source is written again as it was last exported (``leave`` and
``hide``, which HR Import cannot express), so that a site set to "source contains all
records" does not delete it either.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector.errors import LmsError
from connector.totara.hrimport import CompetencyRow, write_competency_file
from sync.errors import PlanError, SyncBusyError, SyncError
from sync.model import Framework
from sync.sources import read_sources
from sync.target import run_recorded

RUN_KIND = "hr_import"
Action = Literal["create", "update", "unchanged", "missing", "delete"]
OnMissing = Literal["leave", "hide", "delete"]


@dataclass(frozen=True)
class RowChange:
    """What happens to one competency: its row now, the row last exported, what differs."""

    action: Action
    row: CompetencyRow
    before: CompetencyRow | None = None
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportPlan:
    """The rows the next file holds and how they differ from the last export."""

    site: str
    changes: tuple[RowChange, ...]

    @property
    def is_empty(self) -> bool:
        return all(c.action in ("unchanged", "missing") for c in self.changes)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def rows(self) -> list[CompetencyRow]:
        """Every row of the file: the sources, plus what left them (kept or deleted)."""
        return [c.row for c in self.changes]

    def to_json(self) -> str:
        return json.dumps({
            "site": self.site, "target": "totara_hr_import", "empty": self.is_empty,
            "changes": [{"action": c.action, "framework": c.row.frameworkidnumber,
                         "idnumber": c.row.idnumber, "changed": list(c.changed),
                         "before": c.before.to_dict() if c.before else None,
                         "after": c.row.to_dict()} for c in self.changes
                        if c.action != "unchanged"],
        }, indent=2)

    def render(self) -> str:
        """The plan as text: one line per change, then the counts."""
        lines = []
        for c in self.changes:
            where = f"{c.row.frameworkidnumber}/{c.row.idnumber}"
            if c.action == "create":
                lines.append(f"+ create {where} “{c.row.fullname}”")
            elif c.action == "update" and c.before is not None:
                detail = ", ".join(f"{name}: {getattr(c.before, name)!r} → "
                                   f"{getattr(c.row, name)!r}" for name in c.changed)
                lines.append(f"~ update {where} ({detail})")
            elif c.action == "delete":
                lines.append(f"- delete {where} (gone from the source; deleted=1)")
            elif c.action == "missing":
                lines.append(f"! keep   {where} (gone from the source; written as last "
                             "exported, not deleted)")
        counts = ", ".join(f"{self.count(a)} {a}" for a in ("create", "update", "delete",
                                                             "missing", "unchanged"))
        head = "No changes since the last export." if self.is_empty else "\n".join(lines)
        return f"{head}\nHR Import file rows: {counts}."


def rows_for(frameworks: Sequence[Framework], now: int) -> list[CompetencyRow]:
    """The sources as rows, parents before children (HR Import needs parents first)."""
    return [CompetencyRow(idnumber=c.idnumber, fullname=c.shortname, description=c.description,
                          frameworkidnumber=fw.idnumber, parentidnumber=c.parent or "",
                          timemodified=now)
            for fw in frameworks for c in fw.iter_tree()]


def plan_export(desired: Sequence[Framework], last: Mapping[tuple[str, str], CompetencyRow],
                *, site: str, on_missing: OnMissing, now: int) -> ExportPlan:
    """Compare the sources with the last export. Unchanged rows keep their ``timemodified``,
    so that HR Import can skip them."""
    changes: list[RowChange] = []
    seen: set[tuple[str, str]] = set()
    for row in rows_for(desired, now):
        key = (row.frameworkidnumber, row.idnumber)
        seen.add(key)
        before = last.get(key)
        if before is None or before.deleted:
            changes.append(RowChange("create", row, before))
        elif before.same_content(row):
            changes.append(RowChange("unchanged", before, before))
        else:
            changes.append(RowChange("update", row, before, row.changed_columns(before)))
    frameworks = {fw.idnumber for fw in desired}
    for key, before in last.items():
        if key in seen or key[0] not in frameworks or before.deleted:
            continue
        if on_missing == "delete":
            gone = CompetencyRow(**{**before.to_dict(), "deleted": True, "timemodified": now})  # type: ignore[arg-type]
            changes.append(RowChange("delete", gone, before, ("deleted",)))
        else:
            changes.append(RowChange("missing", before, before))
    return ExportPlan(site, tuple(changes))


@dataclass(frozen=True)
class Exported:
    """One HR Import file written: the run, where, and the plan it carried out."""

    run_id: int
    path: Path
    plan: ExportPlan
    ok: ClassVar[bool] = True

    def describe(self) -> str:
        return f"wrote {len(self.plan.rows)} rows to {self.path}"


@dataclass(frozen=True)
class HrImportSync:
    """Plan and write HR Import files for one Totara site from the framework sources."""

    run_kind: ClassVar[str] = RUN_KIND
    engine: Engine
    site: str
    sources: tuple[Path, ...]
    directory: Path
    file_name: str = "competency.csv"
    on_missing: OnMissing = "leave"
    clock: Callable[[], float] = field(default=time.time, compare=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def last_export(self) -> dict[tuple[str, str], CompetencyRow]:
        """The rows of the last file written for this site (empty before the first)."""
        with store.session_scope(self.sessions) as session:
            for run in store.recent_runs(session, 50, kind=RUN_KIND):
                if run.site == self.site and run.status == "succeeded":
                    rows = [CompetencyRow.from_dict(r) for r in (run.summary or {}).get(
                        "rows", [])]
                    return {(r.frameworkidnumber, r.idnumber): r for r in rows}
        return {}

    def plan(self) -> ExportPlan:
        """Raises: SourceError, PlanError (no sources)."""
        if not self.sources:
            raise PlanError("no framework sources: list them under sync.sources in the config "
                            "or give them on the command line")
        desired = read_sources(self.sources)
        return plan_export(desired, self.last_export(), site=self.site,
                           on_missing=self.on_missing, now=int(self.clock()))

    def apply(self, *, trigger: str = "cli") -> Exported:
        """Write the file for a fresh plan and record it as the last export.

        Raises:
            SyncBusyError: another export for this site is running.
            HrImportError: the folder cannot be written (the run is recorded as failed).
        """
        with store.advisory_lock(self.engine, f"sync:{RUN_KIND}:{self.site}") as acquired:
            if not acquired:
                raise SyncBusyError(f"another HR Import export for {self.site} is running")
            plan = self.plan()
            with store.session_scope(self.sessions) as session:
                run_id = store.start_run(session, kind=RUN_KIND, site=self.site,
                                         trigger=trigger).id
            try:
                path = write_competency_file(self.directory, self.file_name, plan.rows)
            except LmsError as exc:
                self._finish(run_id, "failed", {}, str(exc))
                raise
            summary = {"done": len(plan.rows), "skipped": 0, "failed": 0, "file": str(path),
                       **{a: plan.count(a) for a in ("create", "update", "delete", "missing",
                                                     "unchanged")},
                       "rows": [r.to_dict() for r in plan.rows]}
            self._finish(run_id, "succeeded", summary, None)
        return Exported(run_id, path, plan)

    def run(self, *, trigger: str = "schedule") -> Exported:
        """Plan and write the file, as the schedule does; a failure before the file is
        written (bad sources, no sources) is recorded as a failed run too.

        Raises:
            SyncBusyError: another export holds the lock (nothing recorded: not a failure).
            SyncError: the sources could not be planned (recorded as a failed run).
            LmsError: the file could not be written (:meth:`apply` recorded the run).
        """
        # A write failure is recorded by apply itself: only a failed plan needs a record.
        return run_recorded(lambda: self.apply(trigger=trigger), self.sessions, kind=RUN_KIND,
                            site=self.site, trigger=trigger, unrecorded=(SyncError,))

    def _finish(self, run_id: int, status: str, summary: dict[str, object],
                error: str | None) -> None:
        with store.session_scope(self.sessions) as session:
            run = session.get(store.SyncRun, run_id)
            assert run is not None
            store.finish_run(session, run, status, summary=summary, error=error)
