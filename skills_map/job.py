"""Linking courses to competencies as one job: read the mapping file and Moodle, plan, apply.

The apply reuses the framework sync's journaled machinery (:class:`sync.apply.StagedApplier`):
every step is recorded in the store as it lands, links of one course run in file order in one
lane, courses run in parallel, and the rule outcome is set in the same run as the link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import store
from connector import errors as e
from connector.moodle.client import MoodleClient
from skills_map.catalogue import Catalogue, read_catalogue, read_links, resolve
from skills_map.errors import MapBusyError, SkillsMapError, StaleMapPlanError
from skills_map.links import (
    LINK_KIND,
    LinkCourseCompetency,
    LinkOp,
    SetLinkOutcome,
    UnlinkCourseCompetency,
    fingerprint,
    link_key,
    plan_links,
)
from skills_map.mapping import Outcome, read_mapping
from sync.apply import Applied, Progress, StagedApplier, StepOutcome
from sync.plan import Op, Plan

log = logging.getLogger(__name__)

RUN_KIND = "skills_map"
LINKED = "linked"  # detail of a link this run made (and so owns)


class _MapApply(Protocol):
    @property
    def engine(self) -> Engine: ...

    @property
    def site(self) -> str: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    def plan(self) -> Plan: ...

    def verify(self, plan: Plan) -> None: ...


def locked_apply(job: _MapApply, plan: Plan | None, applier: StagedApplier[None, Any],
                 trigger: str) -> Applied:
    """Apply ``plan`` (a saved one, checked first) or a fresh one with ``applier``, under the
    site's lock, closing runs an earlier crash left open.

    Raises:
        MapBusyError: another apply for this site is running.
        StaleMapPlanError: the saved plan is for another site or the LMS changed since.
    """
    with store.advisory_lock(job.engine, f"sync:{RUN_KIND}:{job.site}") as acquired:
        if not acquired:
            raise MapBusyError(f"another skills-map apply for {job.site} is running")
        with store.session_scope(job.sessions) as session:
            closed = tuple(store.close_interrupted_runs(session, job.site, RUN_KIND))
        if plan is None:
            plan = job.plan()
        else:
            job.verify(plan)
        result = applier.run(plan, None, trigger=trigger)
    return Applied(plan, result, closed)


def links_made(sessions: sessionmaker[Session], site: str) -> set[str]:
    """Store keys (``course/competency``) of the links lms-sidecar made on ``site``: the only
    links a plan may ever remove."""
    with store.session_scope(sessions) as session:
        return set(store.objects_by_external_id(session, site, LINK_KIND))


def remember_link(session: Session, site: str, outcome: StepOutcome, lms_id: int) -> None:
    """Keep in the store the links lms-sidecar made (only those are ever removed), as each
    link or unlink step lands."""
    op = outcome.op
    if outcome.status != "done" or not isinstance(op, LinkOp):
        return
    key = {"site": site, "kind": LINK_KIND,
           "external_id": link_key(op.course_id, op.competency_id)}
    if isinstance(op, LinkCourseCompetency) and outcome.detail.startswith(LINKED):
        store.remember_object(session, lms_id=lms_id, **key)
    elif isinstance(op, UnlinkCourseCompetency):
        store.forget_object(session, **key)


class LinkApplier(StagedApplier[None]):
    """Carries out link plans: add + outcome, outcome changes, removals of our links."""

    run_kind = RUN_KIND

    def lane(self, op: Op) -> tuple[str, ...]:
        # Moodle appends each new link after the course's others: one lane per course keeps
        # the file's order.
        return ("course", str(op.course_id)) if isinstance(op, LinkOp) else (op.op_id,)

    def remember(self, session: Session, outcome: StepOutcome) -> None:
        remember_link(session, self.site, outcome, outcome.lms_id or 0)

    def _link(self, op: LinkCourseCompetency, _: None) -> StepOutcome:
        added = self.client.add_competency_to_course(op.course_id, op.competency_id)
        rows = self.client.course_competencies(op.course_id)
        row = next(r.coursecompetency for r in rows
                   if r.coursecompetency.competencyid == op.competency_id)
        if row.ruleoutcome != op.outcome:
            self.client.set_course_competency_ruleoutcome(row.id, op.outcome)
        detail = (LINKED if added else "was already linked in Moodle (not taken over)")
        return StepOutcome(op, "done", f"{detail}, outcome {Outcome(op.outcome).label}", row.id)

    def _set_outcome(self, op: SetLinkOutcome, _: None) -> StepOutcome:
        self.client.set_course_competency_ruleoutcome(op.link_id, op.after)
        return StepOutcome(op, "done", f"outcome {Outcome(op.before).label} -> "
                           f"{Outcome(op.after).label}", op.link_id)

    def _unlink(self, op: UnlinkCourseCompetency, _: None) -> StepOutcome:
        try:
            self.client.remove_competency_from_course(op.course_id, op.competency_id)
        except e.LmsError:
            rows = self.client.course_competencies(op.course_id)
            if any(r.coursecompetency.competencyid == op.competency_id for r in rows):
                raise
            return StepOutcome(op, "done", "was already gone", op.link_id)
        return StepOutcome(op, "done", "unlinked", op.link_id)


LinkApplier.handlers = {
    LinkCourseCompetency: LinkApplier._link,
    SetLinkOutcome: LinkApplier._set_outcome,
    UnlinkCourseCompetency: LinkApplier._unlink,
}


@dataclass(frozen=True)
class SkillsMap:
    """Everything a map plan or apply needs: the client, the store, the site, the file."""

    client: MoodleClient
    engine: Engine
    site: str
    mapping_file: Path | None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return store.session_factory(self.engine)

    def plan(self, catalogue: Catalogue | None = None) -> Plan:
        """Read the mapping file and Moodle; return the plan.

        Raises:
            SkillsMapError: no mapping file configured.
            MappingError: the file has problems (nothing sent; every problem listed).
            LmsError: Moodle could not be read.
        """
        if self.mapping_file is None:
            raise SkillsMapError("no mapping file: set skills_map.mapping_file in the config "
                                 "or give --mapping FILE")
        mapping = read_mapping(self.mapping_file)
        catalogue = catalogue or read_catalogue(self.client)
        wanted = resolve(mapping, catalogue)
        ours = links_made(self.sessions, self.site)
        known = {c.id for c in catalogue.courses}
        scope = {w.course_id for w in wanted} | {
            int(key.split("/")[0]) for key in ours if int(key.split("/")[0]) in known}
        actual = read_links(self.client, scope)
        return plan_links(wanted, actual, ours, catalogue, site=self.site,
                          source=str(self.mapping_file))

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied:
        """Apply ``plan`` (a saved one, checked against Moodle first) or a fresh plan, under
        a database lock so that two applies for one site never run at once.

        Raises:
            MapBusyError: another apply for this site is running.
            StaleMapPlanError: the saved plan is for another site or Moodle changed since.
        """
        return locked_apply(self, plan, LinkApplier(self.client, self.sessions, self.site,
                                                    progress=progress), trigger)

    def verify(self, plan: Plan) -> None:
        """Refuse a saved plan made for another site or before Moodle changed."""
        if plan.site != self.site:
            raise StaleMapPlanError(f"the plan was made for {plan.site}, not {self.site}")
        catalogue = read_catalogue(self.client, frameworks=["-"])
        ids = {c.shortname: c.id for c in catalogue.courses}
        links = read_links(self.client, [ids[c] for c in plan.basis if c in ids])
        changed = [c for c, fp in plan.basis.items()
                   if c not in ids or fingerprint(links[ids[c]]) != fp]
        if changed:
            raise StaleMapPlanError(f"Moodle changed since the plan was made "
                                    f"({', '.join(changed)}); run `sidecar map plan` again")
