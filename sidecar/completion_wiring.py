"""Completion events in, wired to the app and the scheduler: the receiver, the periodic
reconciliation and the "Completions inbox" dashboard panel.

Reconciliation looks at the courses that matter: those for which an inbox completion can
start follow-ups (:func:`webhooks.policy.Policy.match`): the courses a plan names (short name
or idnumber) and the courses linked to a competency a plan names. Without a plans file it
falls back to the courses the skills map linked (``lms_objects`` kind ``course_competency``),
so completions are still recorded for the reports. A run that found something or failed is
recorded as a run of kind ``completions-reconcile`` (the admin pages and ``sidecar status``
show it); an idle run only moves the watermark, which the panel shows as the last run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import store
from config import Settings
from connector.errors import FunctionNotInServiceError, LmsError, UnknownFunctionError
from connector.moodle.client import MoodleClient
from sidecar.followup_wiring import policy_for
from sidecar.totara_wiring import build_legacy_client
from sidecar.wiring import build_client
from store.models import InboxEvent, InboxStatus, Watermark
from webhooks import receiver
from webhooks.errors import ReconcileError, WebhookError
from webhooks.policy import FollowupError
from webhooks.reconcile import Reconciled, reconcile

log = logging.getLogger(__name__)

RECONCILE_JOB = "completion-reconcile"
RUN_KIND = "completions-reconcile"
LINK_KIND = "course_competency"  # the skills map's lms_objects rows: "<course id>/<comp id>"
PANEL_TITLE = "Completions inbox"
# A crashed holder's SQLite lock row is overtaken after this long; longer than any run.
LOCK_TTL = timedelta(minutes=30)
RECORDED_SAMPLE = 20  # completions listed in a recorded run (a first run may find thousands)


@dataclass
class CourseSelection:
    """The courses to reconcile, what chose them, and the LMS calls spent choosing."""

    ids: list[int] = field(default_factory=list)
    basis: str = "plans"
    api_calls: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class PollOutcome:
    """One reconciliation run as the CLI and the job report it."""

    status: str  # "succeeded", "failed" or "busy"
    courses: CourseSelection = field(default_factory=CourseSelection)
    found: Reconciled | None = None
    error: str | None = None
    calls: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        found = self.found
        return {"status": self.status, "basis": self.courses.basis,
                "courses": self.courses.ids, "path": found.path if found else None,
                "new": [{"courseid": c, "userid": u, "completed_at": at.isoformat()}
                        for c, u, at in (found.new if found else [])],
                "known": found.duplicates if found else 0,
                "too_old": found.too_old if found else 0,
                "api_calls": sum(self.calls.values()), "calls": self.calls,
                "notes": self.courses.notes + (found.notes if found else []),
                "error": self.error}


def completion_client(settings: Settings) -> MoodleClient:
    """The client reconciliation reads completions with: Moodle's web services, or on Totara
    its legacy ones (``core_completion_get_course_completion_status`` per learner).

    Raises:
        ReconcileError: a Totara site without a web-service token, or with
            ``webhooks.report.id`` (Moodle's Report builder functions are not in Totara).
    """
    if settings.lms.kind != "totara":
        return build_client(settings.lms)
    if settings.webhooks.report.id is not None:
        raise ReconcileError(
            "webhooks.report.id is set, but Totara has no core_reportbuilder_retrieve_report "
            "(Moodle's Report builder): remove webhooks.report for a Totara site; completions "
            "are then read per learner with core_completion_get_course_completion_status")
    legacy = build_legacy_client(settings.lms)
    if legacy is None:
        raise ReconcileError(
            "lms.kind is totara and no web-service token is set: reconciliation reads "
            "completions through Totara's legacy web services "
            "(core_enrol_get_enrolled_users, core_completion_get_course_completion_status); "
            "set SIDECAR_LMS__TOKEN (or lms.token_file) to a token of the service account")
    return legacy


def _linked_courses(engine: Engine, site: str, competency_ids: set[int] | None) -> set[int]:
    """Courses the skills map linked, to any competency or to those in ``competency_ids``."""
    with store.session_scope(store.session_factory(engine)) as session:
        keys = store.objects_by_external_id(session, site, LINK_KIND)
    found = set()
    for key in keys:
        course, _, competency = key.partition("/")
        if course.isdigit() and competency.isdigit() and (
                competency_ids is None or int(competency) in competency_ids):
            found.add(int(course))
    return found


def _competency_ids(engine: Engine, site: str, idnumbers: set[str]) -> dict[str, int]:
    """LMS ids of the competencies lms-sidecar synced, by idnumber (any framework)."""
    if not idnumbers:
        return {}
    with store.session_scope(store.session_factory(engine)) as session:
        rows = session.execute(
            select(store.LmsObject.external_id, store.LmsObject.lms_id)
            .where(store.LmsObject.site == site, store.LmsObject.kind == "competency",
                   store.LmsObject.external_id.in_(sorted(idnumbers)))).all()
    return {idnumber: lms_id for idnumber, lms_id in rows}


def courses_to_reconcile(settings: Settings, engine: Engine,
                         client: MoodleClient) -> CourseSelection:
    """The courses whose completions can start follow-ups (see the module docstring).

    Costs one ``core_course_get_courses_by_field`` call when plans name courses, and one
    ``tool_lp_list_courses_using_competency`` call per competency the plans name (the skills
    map's links stand in when the function is not in the token's service).

    Raises:
        PlansFileError: the plans file is unreadable or invalid.
        LmsError: the LMS failed.
    """
    site = settings.lms.url
    policy = policy_for(settings)
    before = client.stats.calls
    if not policy.plans:
        return CourseSelection(sorted(_linked_courses(engine, site, None)), "skills map")
    chosen: set[int] = set()
    keys = set().union(*(plan.courses for plan in policy.plans))
    if keys:
        chosen |= {c.id for c in client.courses_by_field()
                   if c.shortname in keys or (c.idnumber and c.idnumber in keys)}
    wanted = {c for plan in policy.plans for c in plan.competencies}
    ids = _competency_ids(engine, site, wanted)
    notes = [f"competency {idnumber} was not synced by lms-sidecar: only the courses the plans "
             "name are polled for it" for idnumber in sorted(wanted - ids.keys())]
    for competency_id in sorted(ids.values()):
        try:
            chosen |= {c.id for c in client.courses_using_competency(competency_id)}
        except (FunctionNotInServiceError, UnknownFunctionError):
            # Not in the token's service (Moodle), or not on the site at all (Totara).
            notes.append("tool_lp_list_courses_using_competency is not available to the token: "
                         "the skills map's links stand in for the courses of competencies")
            chosen |= _linked_courses(engine, site, set(ids.values()))
            break
    return CourseSelection(sorted(chosen), "plans", client.stats.calls - before, notes)


def poll_completions(settings: Settings, engine: Engine, client: MoodleClient | None = None,
                     *, trigger: store.RunTrigger = store.RunTrigger.CLI,
                     now: datetime | None = None, record_idle: bool = True) -> PollOutcome:
    """Choose the courses and reconcile them once; never raises for an LMS, plans file,
    report or store failure: the outcome says "failed", the log and a recorded run say why.

    A run is recorded (kind ``completions-reconcile``) when it failed, found new completions,
    or ``record_idle`` is set (the CLI; the scheduled job records only runs that did
    something).
    """
    outcome = PollOutcome("succeeded")
    try:
        client = client or completion_client(settings)
    except WebhookError as exc:
        outcome.status, outcome.error = "failed", _describe(exc)
        log.error("completion reconciliation failed: %s", outcome.error)
        _record(engine, settings, outcome, trigger)
        return outcome
    start = {c.function: c.calls for c in client.stats.by_function()}
    try:
        outcome.courses = courses_to_reconcile(settings, engine, client)
        outcome.found = reconcile(client, engine, settings.webhooks, outcome.courses.ids,
                                  now=now)
    except (LmsError, WebhookError, FollowupError, SQLAlchemyError) as exc:
        outcome.status, outcome.error = "failed", _describe(exc)
        log.error("completion reconciliation failed: %s", outcome.error)
    outcome.calls = {c.function: c.calls - start.get(c.function, 0)
                     for c in client.stats.by_function() if c.calls > start.get(c.function, 0)}
    if outcome.status == "failed" or record_idle or (outcome.found and outcome.found.new):
        _record(engine, settings, outcome, trigger)
    return outcome


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, SQLAlchemyError):  # its text may quote statements and parameters
        message = f"the store failed ({type(exc).__name__})"
    return message[:2000]


def _record(engine: Engine, settings: Settings, outcome: PollOutcome,
            trigger: store.RunTrigger) -> None:
    summary = outcome.summary()
    summary.pop("error")
    new = summary["new"]
    assert isinstance(new, list)
    summary["new"], summary["new_sample"] = len(new), new[:RECORDED_SAMPLE]
    try:
        with store.session_scope(store.session_factory(engine)) as session:
            run = store.start_run(session, kind=RUN_KIND, site=settings.lms.url,
                                  trigger=trigger)
            store.finish_run(session, run, outcome.status, summary,
                             api_calls=sum(outcome.calls.values()), error=outcome.error)
    except SQLAlchemyError as exc:
        log.error("could not record the reconciliation run: %s", type(exc).__name__)


def run_reconciliation(settings: Settings, engine: Engine) -> str:
    """The scheduled reconciliation, once at a time across every worker and instance;
    returns "succeeded", "failed" or "busy". Never raises (failures are logged and recorded).
    """
    with store.advisory_lock(engine, f"{RECONCILE_JOB}:{settings.lms.url}",
                             ttl=LOCK_TTL) as acquired:
        if not acquired:
            log.info("completion reconciliation skipped: another worker or instance runs it")
            return "busy"
        return poll_completions(settings, engine, trigger=store.RunTrigger.SCHEDULE,
                                record_idle=False).status


def add_reconcile_job(scheduler: BaseScheduler, settings: Settings, engine: Engine) -> bool:
    """Add the reconciliation job to ``scheduler`` every ``webhooks.reconcile_every_minutes``
    when follow-ups are on and a plans file is set; True when added.

    ``coalesce`` folds runs missed while busy into one, ``max_instances=1`` keeps a worker
    from overlapping itself; the database lock keeps workers and instances apart.
    """
    minutes = settings.webhooks.reconcile_every_minutes
    if not settings.features.followups or settings.followups.plans_file is None \
            or minutes is None:
        log.info("no completion reconciliation scheduled (features.followups is off, "
                 "followups.plans_file is not set or webhooks.reconcile_every_minutes is null)")
        return False
    scheduler.add_job(run_reconciliation, IntervalTrigger(minutes=minutes),
                      args=(settings, engine), id=RECONCILE_JOB,
                      name="completion reconciliation", coalesce=True, max_instances=1,
                      misfire_grace_time=minutes * 60, replace_existing=True)
    log.info("completion reconciliation scheduled every %d min", minutes)
    return True


def _age(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86_400} days"


def inbox_panel(session: Session, settings: Settings) -> list[tuple[str, str | int]]:
    """The dashboard rows: inbox rows by status, the oldest unprocessed completion's age, the
    last reconciliation and the last recorded one with its outcome."""
    now = datetime.now(UTC)
    counts = {status: count for status, count in session.execute(
        select(InboxEvent.status, func.count(InboxEvent.id)).group_by(InboxEvent.status))}
    rows: list[tuple[str, str | int]] = [(status.value, int(counts.get(status.value, 0)))
                                         for status in InboxStatus]
    oldest = session.scalar(select(func.min(InboxEvent.received_at)).where(
        InboxEvent.status.in_([InboxStatus.NEW.value, InboxStatus.CLAIMED.value])))
    rows.append(("oldest unprocessed", _age(_utc(oldest), now) if oldest else "none"))
    last = session.scalar(select(func.max(Watermark.updated_at))
                          .where(Watermark.name.like("reconcile:%")))
    rows.append(("last reconciliation", f"{_age(_utc(last), now)} ago" if last else "never"))
    runs = store.recent_runs(session, 1, kind=RUN_KIND)
    run = runs[0] if runs else None
    if run is not None:
        summary = run.summary or {}
        found = summary.get("new", 0)
        outcome = (f"failed: {run.error}" if run.status == "failed" and run.error
                   else f"{run.status}, {found} new, {run.api_calls} API calls")
        rows.append((f"last recorded run ({_age(_utc(run.started_at), now)} ago)",
                     outcome[:200]))
    return rows


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def mount_webhooks(app: Flask, settings: Settings, engine: Engine) -> None:
    """Serve the webhook receiver on ``app`` and add the inbox panel to the dashboard."""
    receiver.mount(app, settings.webhooks, engine)
    from sidecar.admin.panels import register_panel

    register_panel(PANEL_TITLE, inbox_panel)
