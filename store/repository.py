"""Small typed functions the sync code calls to read and write the store.

Every function takes the caller's `Session` and never commits: the job's `session_scope` decides.
Writes are flushed, so database ids and constraint errors show up at the call. The ORM objects
returned stay usable after the commit (the factory does not expire them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.db import StoreError
from store.models import (
    AuditEntry,
    LmsObject,
    MapSuggestion,
    RunStatus,
    RunTrigger,
    StepStatus,
    SuggestionStatus,
    SyncRun,
    SyncStep,
    utcnow,
)


def _upsert(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take ON CONFLICT DO UPDATE, for the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"the store supports SQLite and PostgreSQL, not {dialect}")



#: What a bulk upsert of each table matches on and what it updates when the row exists.
_BULK_UPSERTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lms_objects": (("site", "kind", "scope", "external_id"), ("lms_id", "updated_at")),
    "sync_steps": (("run_id", "op_id"), ("op_kind", "status", "lms_id", "detail", "finished_at")),
}
#: The same for objects whose fingerprint is written on update too (goals).
_FINGERPRINTED = (("site", "kind", "scope", "external_id"),
                  ("lms_id", "fingerprint", "updated_at"))
_bulk_statements: dict[tuple[str, str], Any] = {}


def _bulk_upsert(session: Session, model: type[LmsObject] | type[SyncStep], *,
                 fingerprinted: bool = False) -> Any:
    """The bulk ``INSERT ... ON CONFLICT DO UPDATE`` of ``model``'s table for the session's
    database, built once per process: building it (``excluded`` copies every column into a new
    alias) cost more CPU than running it, and a busy apply runs it for every journaled batch."""
    key = (session.get_bind().dialect.name, model.__tablename__ + "+fp" * fingerprinted)
    statement = _bulk_statements.get(key)
    if statement is None:
        conflict, updated = _FINGERPRINTED if fingerprinted else \
            _BULK_UPSERTS[model.__tablename__]
        insert = _upsert(session, model.__table__)
        statement = _bulk_statements[key] = insert.on_conflict_do_update(
            index_elements=list(conflict),
            set_={name: insert.excluded[name] for name in updated})
    return statement

def remember_object(
    session: Session,
    *,
    site: str,
    kind: str,
    scope: str = "",
    external_id: str,
    lms_id: int,
    fingerprint: str | None = None,
) -> LmsObject:
    """Record that (site, kind, scope, external_id) is `lms_id` in the LMS; insert or update.

    One atomic statement (INSERT ... ON CONFLICT DO UPDATE), so two writers of the same key never
    fail on the unique constraint. Returns the stored `LmsObject`, refreshed from the database.
    """
    now = utcnow()
    insert = _upsert(session, LmsObject.__table__).values(
        site=site,
        kind=kind,
        scope=scope,
        external_id=external_id,
        lms_id=lms_id,
        fingerprint=fingerprint,
        created_at=now,
        updated_at=now,
    )
    statement = insert.on_conflict_do_update(
        index_elements=["site", "kind", "scope", "external_id"],
        set_={"lms_id": lms_id, "fingerprint": fingerprint, "updated_at": now},
    ).returning(LmsObject.id)
    object_id = session.execute(statement).scalar_one()
    stored = session.get(LmsObject, object_id, populate_existing=True)
    assert stored is not None  # just written in this transaction
    return stored


def remember_objects(
    session: Session, *, site: str, kind: str, rows: Sequence[tuple[str, str, int]]
) -> None:
    """`remember_object` for many (scope, external_id, lms_id) of one kind, in one statement
    (no objects are returned: what a busy apply needs)."""
    if not rows:
        return
    now = utcnow()
    session.connection().execute(_bulk_upsert(session, LmsObject), [
        {"site": site, "kind": kind, "scope": scope, "external_id": external_id,
         "lms_id": lms_id, "fingerprint": None, "created_at": now, "updated_at": now}
        for scope, external_id, lms_id in rows])


def remember_fingerprints(
    session: Session, *, site: str, kind: str, rows: Sequence[tuple[str, int, str | None]]
) -> None:
    """`remember_object` for many (external_id, lms_id, fingerprint) of one kind in the empty
    scope, in one statement; the fingerprint is written on insert and on update alike. Each
    external id at most once (a repeat would be ambiguous in one statement)."""
    if not rows:
        return
    if len({external_id for external_id, _, _ in rows}) < len(rows):
        raise ValueError("remember_fingerprints: an external id is given twice")
    now = utcnow()
    session.connection().execute(_bulk_upsert(session, LmsObject, fingerprinted=True), [
        {"site": site, "kind": kind, "scope": "", "external_id": external_id,
         "lms_id": lms_id, "fingerprint": fingerprint, "created_at": now, "updated_at": now}
        for external_id, lms_id, fingerprint in rows])


def find_object(
    session: Session, *, site: str, kind: str, scope: str = "", external_id: str
) -> LmsObject | None:
    """The `LmsObject` for this external id, or None when lms-sidecar never synced it."""
    return session.scalars(
        select(LmsObject).where(
            LmsObject.site == site,
            LmsObject.kind == kind,
            LmsObject.scope == scope,
            LmsObject.external_id == external_id,
        )
    ).one_or_none()


def find_by_lms_id(session: Session, *, site: str, kind: str, lms_id: int) -> list[LmsObject]:
    """The `LmsObject`s of this kind that point at `lms_id` (normally one), oldest first."""
    return list(
        session.scalars(
            select(LmsObject)
            .where(LmsObject.site == site, LmsObject.kind == kind, LmsObject.lms_id == lms_id)
            .order_by(LmsObject.id)
        )
    )


def objects_by_external_id(
    session: Session, site: str, kind: str, scope: str = ""
) -> dict[str, LmsObject]:
    """Every `LmsObject` of one kind and scope on a site, keyed by external id (one query)."""
    rows = session.scalars(
        select(LmsObject).where(
            LmsObject.site == site, LmsObject.kind == kind, LmsObject.scope == scope
        )
    )
    return {row.external_id: row for row in rows}


def forget_object(
    session: Session, *, site: str, kind: str, scope: str = "", external_id: str
) -> bool:
    """Drop the record of this external id (after the LMS object was deleted); True if one was."""
    result = session.execute(
        delete(LmsObject)
        .where(
            LmsObject.site == site,
            LmsObject.kind == kind,
            LmsObject.scope == scope,
            LmsObject.external_id == external_id,
        )
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0))


def start_run(
    session: Session,
    *,
    kind: str,
    site: str,
    dry_run: bool = False,
    trigger: RunTrigger | str = RunTrigger.CLI,
    plan: Mapping[str, Any] | list[Any] | None = None,
) -> SyncRun:
    """Create a `SyncRun` in status "running" and return it (flushed, so it has its id).

    Raises:
        ValueError: when `trigger` is not one of `RunTrigger`.
    """
    run = SyncRun(
        kind=kind,
        site=site,
        started_at=utcnow(),
        status=RunStatus.RUNNING.value,
        dry_run=dry_run,
        trigger=RunTrigger(trigger).value,
        summary={},
        plan=dict(plan) if isinstance(plan, Mapping) else plan,
        api_calls=0,
    )
    session.add(run)
    session.flush()
    return run


def record_step(
    session: Session,
    run: SyncRun | int,
    op_id: str,
    op_kind: str,
    status: StepStatus | str,
    lms_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
) -> SyncStep:
    """Journal the outcome of plan operation `op_id` in `run`; returns the stored `SyncStep`.

    Idempotent per (run, op_id): recording the same op again replaces its outcome (a failed op
    retried on resume becomes "done") instead of adding a row.

    Raises:
        ValueError: when `status` is not one of `StepStatus`.
    """
    run_id = run if isinstance(run, int) else run.id
    values = {
        "op_kind": op_kind,
        "status": StepStatus(status).value,
        "lms_id": lms_id,
        "detail": dict(detail or {}),
        "finished_at": utcnow(),
    }
    statement = (
        _upsert(session, SyncStep.__table__)
        .values(run_id=run_id, op_id=op_id, **values)
        .on_conflict_do_update(index_elements=["run_id", "op_id"], set_=values)
        .returning(SyncStep.id)
    )
    step_id = session.execute(statement).scalar_one()
    step = session.get(SyncStep, step_id, populate_existing=True)
    assert step is not None  # just written in this transaction
    return step


def record_steps(
    session: Session, run_id: int, steps: Sequence[tuple[str, str, str, int | None, str]]
) -> None:
    """Journal several outcomes of `run_id` in one statement: (op_id, op_kind, status, lms_id,
    detail text) each. Idempotent per (run, op_id), like `record_step`.

    Raises:
        ValueError: when a status is not one of `StepStatus`.
    """
    if not steps:
        return
    now = utcnow()
    rows = [{"run_id": run_id, "op_id": op_id, "op_kind": kind, "status": StepStatus(status).value,
             "lms_id": lms_id, "detail": {"detail": detail}, "finished_at": now}
            for op_id, kind, status, lms_id, detail in steps]
    session.connection().execute(_bulk_upsert(session, SyncStep), rows)


def done_op_ids(session: Session, run_id: int) -> set[str]:
    """The op ids of `run_id` that completed ("done" or "skipped"): a resume must not redo them."""
    return set(
        session.scalars(
            select(SyncStep.op_id).where(
                SyncStep.run_id == run_id,
                SyncStep.status.in_([StepStatus.DONE.value, StepStatus.SKIPPED.value]),
            )
        )
    )


def finish_run(
    session: Session,
    run: SyncRun,
    status: RunStatus | str,
    summary: Mapping[str, Any] | None = None,
    api_calls: int = 0,
    error: str | None = None,
) -> SyncRun:
    """Close `run` with its final status, summary, API call count and error; returns it.

    Raises:
        ValueError: when `status` is not a final `RunStatus` (not "running").
    """
    final = RunStatus(status)
    if final is RunStatus.RUNNING:
        raise ValueError("finish_run needs a final status, not 'running'")
    run.status = final.value
    run.finished_at = utcnow()
    run.summary = dict(summary or {})
    run.api_calls = api_calls
    run.error = error
    session.flush()
    return run


def recent_runs(session: Session, limit: int = 20, kind: str | None = None) -> list[SyncRun]:
    """The latest `SyncRun`s, newest first, optionally of one kind."""
    statement = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(SyncRun.kind == kind)
    return list(session.scalars(statement))


def close_interrupted_runs(session: Session, site: str, kind: str) -> list[int]:
    """Close every run of `kind` on `site` still "running" (its process crashed or was killed)
    as failed, keeping how many steps it had done; returns their ids, newest first.

    Call it under the job's lock, so that no live run is mistaken for a dead one.
    """
    closed = []
    while (run := last_unfinished_run(session, site, kind)) is not None:
        finish_run(session, run, RunStatus.FAILED, summary={"done": len(done_op_ids(session,
                                                                                     run.id))},
                   error="interrupted before it finished")
        closed.append(run.id)
    return closed


def last_unfinished_run(session: Session, site: str, kind: str) -> SyncRun | None:
    """The newest run of `kind` on `site` still "running" (interrupted), to resume; else None.

    Dry runs are never resumed, so they are not returned.
    """
    return session.scalars(
        select(SyncRun)
        .where(
            SyncRun.site == site,
            SyncRun.kind == kind,
            SyncRun.status == RunStatus.RUNNING.value,
            SyncRun.dry_run.is_(False),
        )
        .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
        .limit(1)
    ).one_or_none()


# --- skills map: suggestions and the audit log ---


def save_suggestion(
    session: Session,
    *,
    site: str,
    course: str,
    course_id: int,
    framework: str,
    competency: str,
    competency_id: int,
    competency_name: str,
    score: float,
    evidence: Sequence[str],
    method: str,
) -> MapSuggestion:
    """Store a suggestion as pending, or refresh the score and evidence of a pending one.

    A suggestion already decided (accepted or rejected) is returned unchanged: a rejected pair
    stays rejected however often it is suggested again.
    """
    row = session.scalars(
        select(MapSuggestion).where(
            MapSuggestion.site == site,
            MapSuggestion.course == course,
            MapSuggestion.framework == framework,
            MapSuggestion.competency == competency,
        )
    ).one_or_none()
    if row is None:
        row = MapSuggestion(
            site=site, course=course, course_id=course_id, framework=framework,
            competency=competency, competency_id=competency_id,
            competency_name=competency_name, score=score, evidence=list(evidence),
            method=method, outcome=1, status=SuggestionStatus.PENDING.value,
            created_at=utcnow(), updated_at=utcnow(),
        )
        session.add(row)
    elif row.status == SuggestionStatus.PENDING.value:
        row.score, row.evidence, row.method = score, list(evidence), method
        row.course_id, row.competency_id = course_id, competency_id
    session.flush()
    return row


def list_suggestions(
    session: Session, site: str, status: SuggestionStatus | str | None = None
) -> list[MapSuggestion]:
    """The suggestions of a site (optionally of one status), best score first."""
    statement = select(MapSuggestion).where(MapSuggestion.site == site)
    if status is not None:
        statement = statement.where(MapSuggestion.status == SuggestionStatus(status).value)
    return list(session.scalars(statement.order_by(MapSuggestion.course,
                                                   MapSuggestion.score.desc(),
                                                   MapSuggestion.id)))


def decide_suggestion(
    session: Session, row: MapSuggestion, status: SuggestionStatus | str, *, actor: str,
    outcome: int | None = None,
) -> MapSuggestion:
    """Record a person's decision on a suggestion (the caller writes the audit entry)."""
    row.status = SuggestionStatus(status).value
    row.decided_at = utcnow()
    row.decided_by = actor
    if outcome is not None:
        row.outcome = outcome
    session.flush()
    return row


def append_audit(
    session: Session,
    *,
    site: str,
    actor: str,
    action: str,
    subject: str,
    suggestion_id: int | None = None,
    score: float | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the append-only audit log and return it (flushed, with its id)."""
    entry = AuditEntry(at=utcnow(), site=site, actor=actor, action=action, subject=subject,
                       suggestion_id=suggestion_id, score=score, detail=dict(detail or {}))
    session.add(entry)
    session.flush()
    return entry


def audit_entries(
    session: Session, *, since: datetime | None = None, site: str | None = None
) -> list[AuditEntry]:
    """Audit entries, oldest first, from `since` (aware datetime) on, optionally of one site."""
    statement = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if since is not None:
        statement = statement.where(AuditEntry.at >= since)
    if site is not None:
        statement = statement.where(AuditEntry.site == site)
    return list(session.scalars(statement))
