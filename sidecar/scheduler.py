"""The nightly jobs of ``sidecar serve``: APScheduler triggers them, the database decides.

APScheduler 3 only says *when*; whether a run happens is decided by a database lock (one
run at a time across every worker and instance) and the store's record of past runs. A run
missed while the service was down is made on start when it is at most
``sync.misfire_grace_seconds`` late (the store knows when the last scheduled run started).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine, select

import store
from config import Settings
from connector.errors import LmsError
from sidecar.wiring import build_framework_target, framework_run_kind
from sync.errors import SyncBusyError, SyncError

log = logging.getLogger(__name__)

FRAMEWORK_SYNC_JOB = "framework-sync"


def run_framework_sync(settings: Settings, engine: Engine,
                       now: datetime | None = None) -> str:
    """One scheduled framework sync, at most once per fire time across every worker and
    instance; returns "succeeded", "failed", "busy" or "already done".

    Under a database lock it checks whether a scheduled run already started since the
    latest fire time (another worker was first), and runs only if none did.
    """
    now = now or datetime.now(UTC)
    trigger = trigger_for(settings)
    due = _last_fire_time(trigger, now - timedelta(days=1), now) if trigger else None
    kind = framework_run_kind(settings)
    with store.advisory_lock(engine, f"schedule:{kind}:{settings.lms.url}") as acquired:
        if not acquired:
            log.info("framework sync skipped: another worker or instance is starting it")
            return "busy"
        if due is not None and _scheduled_run_since(engine, kind, due):
            log.info("framework sync due at %s already ran elsewhere", due)
            return "already done"
        return _sync_now(settings, engine)


def _sync_now(settings: Settings, engine: Engine) -> str:
    try:
        outcome = build_framework_target(settings, engine).run(trigger="schedule")
    except SyncBusyError:
        log.info("framework sync skipped: an apply by hand is running")
        return "busy"
    except (SyncError, LmsError) as exc:
        log.error("scheduled framework sync failed: %s", exc)
        return "failed"
    if outcome.ok:
        log.info("scheduled framework sync: %s", outcome.describe())
        return "succeeded"
    log.error("scheduled framework sync: %s", outcome.describe())
    return "failed"


def _scheduled_run_since(engine: Engine, kind: str, since: datetime) -> bool:
    with store.session_scope(store.session_factory(engine)) as session:
        return session.scalar(
            select(store.SyncRun.id)
            .where(store.SyncRun.kind == kind, store.SyncRun.trigger == "schedule",
                   store.SyncRun.started_at >= since)
            .limit(1)) is not None


def trigger_for(settings: Settings) -> CronTrigger | None:
    """The cron trigger of the sync, None when no schedule is set."""
    if not settings.sync.schedule:
        return None
    return CronTrigger.from_crontab(settings.sync.schedule,
                                    timezone=ZoneInfo(settings.sync.timezone))


def missed_run(settings: Settings, engine: Engine, now: datetime) -> datetime | None:
    """The fire time of a scheduled run that was missed and is still within the grace period.

    The latest fire time before ``now`` counts as missed when no scheduled run started at or
    after it.
    """
    trigger = trigger_for(settings)
    if trigger is None:
        return None
    grace = timedelta(seconds=settings.sync.misfire_grace_seconds)
    fire = _last_fire_time(trigger, now - grace, now)
    if fire is None or _scheduled_run_since(engine, framework_run_kind(settings), fire):
        return None
    return fire


def _last_fire_time(trigger: CronTrigger, since: datetime, now: datetime) -> datetime | None:
    """The latest time the trigger fired in (since, now], None if it did not."""
    last = None
    fire = trigger.get_next_fire_time(None, since)
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return last


def start_scheduler(settings: Settings, engine: Engine) -> BackgroundScheduler | None:
    """Start the background scheduler with the framework sync, the follow-up jobs and the
    completion reconciliation; None when nothing is scheduled.

    ``coalesce`` folds runs missed while busy into one, ``max_instances=1`` keeps a worker
    from overlapping itself; the database lock keeps workers and instances apart.
    """
    from sidecar.completion_wiring import add_reconcile_job
    from sidecar.followup_jobs import add_followup_jobs

    scheduler = BackgroundScheduler(timezone=ZoneInfo(settings.sync.timezone))
    followups = add_followup_jobs(scheduler, settings, engine)
    followups = add_reconcile_job(scheduler, settings, engine) or followups
    trigger = trigger_for(settings)
    if trigger is None or not settings.features.frameworks or not settings.sync.sources:
        log.info("no framework sync scheduled (sync.schedule or sync.sources is empty)")
        if not followups:
            return None
        scheduler.start()
        return scheduler
    scheduler.add_job(run_framework_sync, trigger, args=(settings, engine),
                      id=FRAMEWORK_SYNC_JOB, name="framework sync", coalesce=True,
                      max_instances=1, misfire_grace_time=settings.sync.misfire_grace_seconds,
                      replace_existing=True)
    now = datetime.now(ZoneInfo(settings.sync.timezone))
    missed = missed_run(settings, engine, now)
    if missed is not None:
        log.info("the framework sync due at %s was missed; running it now", missed)
        scheduler.add_job(run_framework_sync, args=(settings, engine), id="catch-up",
                          name="framework sync (missed run)", max_instances=1)
    scheduler.start()
    job = scheduler.get_job(FRAMEWORK_SYNC_JOB)
    log.info("framework sync scheduled (%s %s); next run %s", settings.sync.schedule,
             settings.sync.timezone, job.next_run_time if job else "never")
    return scheduler
