"""The follow-up jobs of ``sidecar serve``: intake (new completions -> sequences), dispatch
(due tasks -> the site's practice channel) and, where the channel lets learners tick a task
(Totara goal tasks), progress (ticked tasks -> the answer "done"), triggered by APScheduler.

Each run takes a database lock first (``store.advisory_lock``), so of all the workers and
instances only one runs a job at a time; the others return "busy". The claims inside (inbox
rows, tasks) are row by row anyway, the lock only saves the duplicate work. A run that did
something or failed is recorded as a run (kind ``followups-intake`` / ``followups-dispatch``,
trigger ``schedule``) so that ``sidecar status`` and the admin pages show it; an idle run
every minute records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, TypeVar

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import store
from config import Settings
from connector.errors import LmsError
from sidecar.followup_wiring import (
    dispatcher_for,
    has_course_competencies,
    lms_client,
    policy_for,
    progress_for,
    rules_for,
)
from webhooks import inbox
from webhooks.clock import Clock, SystemClock
from webhooks.intake import take_completions
from webhooks.policy import FollowupError

log = logging.getLogger(__name__)
R = TypeVar("R")

INTAKE_JOB = "followup-intake"
DISPATCH_JOB = "followup-dispatch"
INTAKE_KIND = "followups-intake"
DISPATCH_KIND = "followups-dispatch"
PROGRESS_JOB = "followup-progress"
PROGRESS_KIND = "followups-progress"
#: How often learners' ticks are read (one goal look-up per learner, one call per goal).
INTAKE_BATCH = 100
MAX_INTAKE_BATCHES = 50  # at most 5,000 completions a run; the next run takes the rest
# A crashed holder's SQLite lock row is overtaken after this long; longer than any run.
LOCK_TTL = timedelta(minutes=30)


def run_followup_intake(settings: Settings, engine: Engine, clock: Clock | None = None) -> str:
    """Turn new inbox completions into follow-up sequences, once across every worker and
    instance; returns "succeeded", "failed", "busy" or "idle" (nothing new).

    Never raises for an LMS, plans file or store failure: it is logged and recorded.
    """
    clock = clock or SystemClock()
    counts = {"started": 0, "ignored": 0, "failed": 0}
    taken = _locked(engine, settings, INTAKE_JOB, INTAKE_KIND, "follow-up intake",
                    lambda: _take_all(settings, engine, clock, counts), counts)
    if isinstance(taken, str):
        return taken
    started, ignored, failed = counts["started"], counts["ignored"], counts["failed"]
    if not any(counts.values()):
        return "idle"
    log.info("follow-up intake: %d sequence(s) started, %d completion(s) without a plan, "
             "%d failed", started, ignored, failed)
    status = "partial" if failed and (started or ignored) else "failed" if failed else \
        "succeeded"
    return _finish(engine, settings, INTAKE_KIND, status, dict(counts),
                   f"{failed} completion(s) could not be looked up in the LMS" if failed
                   else None)


def _take_all(settings: Settings, engine: Engine, clock: Clock,
              counts: dict[str, int]) -> dict[str, int]:
    """Take the inbox's completions batch by batch, adding to ``counts`` as each lands (so a
    failure half-way is recorded with what was taken); returns ``counts``."""
    client, policy, rules = lms_client(settings), policy_for(settings), rules_for(settings)
    for _ in range(MAX_INTAKE_BATCHES):
        report = take_completions(engine, inbox,  # type: ignore[arg-type]
                                  client, policy, rules, clock, limit=INTAKE_BATCH,
                                  competencies=has_course_competencies(settings))
        counts["started"] += report.started
        counts["ignored"] += report.ignored
        counts["failed"] += report.failed
        if report.started + report.ignored + report.failed < INTAKE_BATCH:
            break
    return counts


def run_followup_dispatch(settings: Settings, engine: Engine, clock: Clock | None = None) -> str:
    """Send the due follow-up tasks, once across every worker and instance; returns
    "succeeded", "failed", "busy" or "idle" (nothing due).

    Never raises for an LMS, plans file or store failure: it is logged and recorded, and
    what the LMS refused is kept on each task (``sidecar followups show``).
    """
    clock = clock or SystemClock()
    report = _locked(engine, settings, DISPATCH_JOB, DISPATCH_KIND, "follow-up dispatch",
                     lambda: dispatcher_for(settings, engine, clock).run())
    if isinstance(report, str):
        return report
    summary = report.as_dict()
    errors = list(report.errors)
    del summary["errors"]
    if not any(summary.values()) and not errors:
        return "idle"
    trouble = report.failed + len(errors) + report.doubtful
    log.log(logging.ERROR if trouble else logging.INFO,
            "follow-up dispatch: sent %d, found already sent %d, deferred %d, stopped %d, "
            "refused %d, errors %d", report.sent, report.reconciled, report.deferred,
            report.stopped, report.failed, len(errors))
    status = ("partial" if report.sent or report.reconciled else "failed") if trouble else \
        "succeeded"
    return _finish(engine, settings, DISPATCH_KIND, status, summary,
                   "; ".join(errors)[:2000] or (f"the LMS refused {report.failed} task(s)"
                                                if report.failed else None))


def run_followup_progress(settings: Settings, engine: Engine, clock: Clock | None = None) -> str:
    """Record as "done" the delivered tasks learners ticked in the LMS, once across every
    worker and instance; returns "succeeded", "failed", "busy" or "idle" (nothing ticked).

    Never raises for an LMS, settings or store failure: it is logged and recorded.
    """
    clock = clock or SystemClock()
    report = _locked(engine, settings, PROGRESS_JOB, PROGRESS_KIND, "follow-up progress",
                     lambda: progress_for(settings, engine, clock))
    if isinstance(report, str):
        return report
    if not report.done and not report.errors:
        return "idle"
    summary = report.as_dict()
    del summary["errors"]
    status = ("partial" if report.done else "failed") if report.errors else "succeeded"
    return _finish(engine, settings, PROGRESS_KIND, status, summary,
                   "; ".join(report.errors)[:2000] or None)


def _locked(engine: Engine, settings: Settings, job: str, kind: str, name: str,
            work: Callable[[], R], failed: Mapping[str, Any] | None = None,
            ) -> R | Literal["busy", "failed"]:
    """Run ``work`` under the job's database lock and return what it returns; "busy" when
    another worker or instance holds the lock, "failed" when ``work`` raised (logged, and
    recorded as a ``kind`` run with ``failed`` as its summary, inside the lock)."""
    with store.advisory_lock(engine, f"{job}:{settings.lms.url}", ttl=LOCK_TTL) as acquired:
        if not acquired:
            log.info("%s skipped: another worker or instance is running it", name)
            return "busy"
        try:
            return work()
        except (FollowupError, LmsError, SQLAlchemyError) as exc:
            log.error("%s failed: %s", name, exc)
            _record(engine, settings, kind, "failed", dict(failed or {}), str(exc))
            return "failed"


def _finish(engine: Engine, settings: Settings, kind: str, status: str,
            summary: Mapping[str, Any], error: str | None) -> str:
    """Record a run that did something; "succeeded" when ``status`` says so, else "failed"."""
    _record(engine, settings, kind, status, summary, error)
    return "succeeded" if status == "succeeded" else "failed"


def _record(engine: Engine, settings: Settings, kind: str, status: str,
            summary: Mapping[str, Any], error: str | None) -> None:
    try:
        with store.session_scope(store.session_factory(engine)) as session:
            run = store.start_run(session, kind=kind, site=settings.lms.url,
                                  trigger=store.RunTrigger.SCHEDULE)
            store.finish_run(session, run, status, summary, error=error)
    except SQLAlchemyError as exc:
        log.error("could not record the %s run: %s", kind, exc)


def add_followup_jobs(scheduler: BaseScheduler, settings: Settings, engine: Engine) -> bool:
    """Add the intake and dispatch jobs to ``scheduler`` when follow-ups are on and a plans
    file is set; True when added.

    ``coalesce`` folds runs missed while busy into one, ``max_instances=1`` keeps a worker
    from overlapping itself; the database lock keeps workers and instances apart.
    """
    f = settings.followups
    if not settings.features.followups or f.plans_file is None:
        log.info("no follow-up jobs scheduled (features.followups is off or "
                 "followups.plans_file is not set)")
        return False
    for job_id, name, function, seconds in (
            (INTAKE_JOB, "follow-up intake", run_followup_intake, f.intake_interval_seconds),
            (DISPATCH_JOB, "follow-up dispatch", run_followup_dispatch,
             f.dispatch_interval_seconds)):
        scheduler.add_job(function, IntervalTrigger(seconds=seconds), args=(settings, engine),
                          id=job_id, name=name, coalesce=True, max_instances=1,
                          misfire_grace_time=seconds, replace_existing=True)
    log.info("follow-up jobs scheduled: intake every %d s, dispatch every %d s",
             f.intake_interval_seconds, f.dispatch_interval_seconds)
    if settings.lms.kind == "totara":  # only Totara's goal tasks can be ticked by learners
        seconds = f.progress_interval_seconds
        scheduler.add_job(run_followup_progress, IntervalTrigger(seconds=seconds),
                          args=(settings, engine), id=PROGRESS_JOB, name="follow-up progress",
                          coalesce=True, max_instances=1, misfire_grace_time=seconds,
                          replace_existing=True)
        log.info("follow-up progress (goal tasks ticked in Totara) read every %d s", seconds)
    return True
