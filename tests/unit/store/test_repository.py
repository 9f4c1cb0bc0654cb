"""Repository functions: object identity, the run journal and the resume helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from store import (
    LmsObject,
    StepStatus,
    SyncRun,
    SyncStep,
    done_op_ids,
    find_by_lms_id,
    find_object,
    finish_run,
    forget_object,
    last_unfinished_run,
    objects_by_external_id,
    recent_runs,
    record_step,
    remember_object,
    session_scope,
    start_run,
)

SITE = "https://lms.example.org"


def _remember(session: Session, external_id: str, lms_id: int, **extra: str) -> LmsObject:
    fields = {"kind": "competency", "scope": "OECD", "fingerprint": "f1", **extra}
    return remember_object(session, site=SITE, external_id=external_id, lms_id=lms_id, **fields)


def test_remember_find_update_roundtrip_keeps_utc_aware_times(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        first = _remember(session, "C1", 41)
    assert first.created_at.tzinfo is not None
    assert first.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - first.created_at) < timedelta(minutes=1)

    with session_scope(sessions) as session:
        again = _remember(session, "C1", 42, fingerprint="f2")
    assert again.id == first.id
    assert (again.lms_id, again.fingerprint) == (42, "f2")
    assert again.created_at == first.created_at
    assert again.updated_at >= first.updated_at

    with session_scope(sessions) as session:
        found = find_object(session, site=SITE, kind="competency", scope="OECD", external_id="C1")
        assert found is not None
        assert (found.lms_id, found.fingerprint) == (42, "f2")
        assert found.updated_at.tzinfo is not None and found.updated_at.utcoffset() == timedelta(0)
        assert found.created_at == first.created_at
        assert session.scalar(sa.select(sa.func.count()).select_from(LmsObject)) == 1


def test_times_in_other_zones_are_stored_as_utc(session: Session) -> None:
    run = start_run(session, kind="frameworks", site=SITE)
    plus_two = datetime(2025, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    run.started_at = plus_two
    session.flush()
    session.expire_all()
    stored = session.get(SyncRun, run.id)
    assert stored is not None
    assert stored.started_at == plus_two
    assert stored.started_at.tzinfo == UTC
    assert stored.started_at.hour == 10


def test_naive_datetimes_are_refused(session: Session) -> None:
    run = start_run(session, kind="frameworks", site=SITE)
    run.finished_at = datetime(2025, 1, 1, 12, 0)  # naive on purpose
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_lms_objects_are_unique_per_site_kind_scope_and_external_id(session: Session) -> None:
    _remember(session, "C1", 1)
    _remember(session, "C1", 2, scope="OTHER")
    _remember(session, "C1", 3, kind="framework")
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(LmsObject)) == 3

    now = datetime.now(UTC)
    session.add(
        LmsObject(
            site=SITE,
            kind="competency",
            scope="OECD",
            external_id="C1",
            lms_id=9,
            created_at=now,
            updated_at=now,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_lookups_by_external_id_and_lms_id_and_forgetting(session: Session) -> None:
    for number in range(3):
        _remember(session, f"C{number}", 100 + number)
    _remember(session, "C9", 200, scope="OTHER")

    by_id = objects_by_external_id(session, SITE, "competency", "OECD")
    assert {key: row.lms_id for key, row in by_id.items()} == {"C0": 100, "C1": 101, "C2": 102}
    assert objects_by_external_id(session, SITE, "framework") == {}
    assert [
        row.external_id for row in find_by_lms_id(session, site=SITE, kind="competency", lms_id=101)
    ] == ["C1"]

    key = {"site": SITE, "kind": "competency", "scope": "OECD", "external_id": "C1"}
    assert forget_object(session, **key)
    assert not forget_object(session, **key)
    assert find_object(session, **key) is None
    assert set(objects_by_external_id(session, SITE, "competency", "OECD")) == {"C0", "C2"}


def test_recording_a_step_twice_keeps_one_row_with_the_last_outcome(session: Session) -> None:
    run = start_run(session, kind="frameworks", site=SITE, plan={"ops": ["a", "b"]})
    record_step(session, run, "op-a", "CreateCompetency", "failed", None, {"error": "timeout"})
    step = record_step(session, run, "op-a", "CreateCompetency", StepStatus.DONE, 77, {"n": 1})
    record_step(session, run.id, "op-a", "CreateCompetency", "done", 77, {"n": 1})

    rows = session.scalars(sa.select(SyncStep).where(SyncStep.run_id == run.id)).all()
    assert len(rows) == 1
    assert (step.status, step.lms_id, step.detail) == ("done", 77, {"n": 1})
    assert step.finished_at.tzinfo is not None

    session.add(SyncStep(run_id=run.id, op_id="op-a", op_kind="x", status="done", detail={}))
    with pytest.raises(IntegrityError):
        session.flush()


def test_done_op_ids_lists_what_a_resume_must_not_redo(session: Session) -> None:
    run = start_run(session, kind="frameworks", site=SITE)
    other = start_run(session, kind="frameworks", site=SITE)
    record_step(session, run, "op-1", "CreateFramework", "done", 5)
    record_step(session, run, "op-2", "CreateCompetency", "skipped")
    record_step(session, run, "op-3", "CreateCompetency", "failed")
    record_step(session, other, "op-4", "CreateCompetency", "done", 6)
    assert done_op_ids(session, run.id) == {"op-1", "op-2"}
    assert done_op_ids(session, 10_000) == set()


def test_an_interrupted_run_is_found_for_resuming_until_it_finishes(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as session:
        start_run(session, kind="frameworks", site=SITE, dry_run=True, trigger="cli")
        older = start_run(session, kind="frameworks", site=SITE, trigger="schedule")
        newer = start_run(session, kind="frameworks", site=SITE, trigger="schedule")
        start_run(session, kind="goals", site=SITE)
        record_step(session, newer, "op-1", "CreateFramework", "done", 5)

    with session_scope(sessions) as session:
        resumed = last_unfinished_run(session, SITE, "frameworks")
        assert resumed is not None and resumed.id == newer.id
        assert done_op_ids(session, resumed.id) == {"op-1"}
        finish_run(session, resumed, "succeeded", {"created": 1}, api_calls=3)
        assert last_unfinished_run(session, SITE, "skills_map") is None

    with session_scope(sessions) as session:
        again = last_unfinished_run(session, SITE, "frameworks")
        assert again is not None and again.id == older.id
        stored = session.get(SyncRun, newer.id)
        assert stored is not None
        assert (stored.status, stored.summary, stored.api_calls) == ("succeeded", {"created": 1}, 3)
        assert stored.finished_at is not None and stored.finished_at >= stored.started_at


def test_recent_runs_newest_first_with_limit_and_kind(session: Session) -> None:
    runs = [start_run(session, kind=kind, site=SITE) for kind in ("frameworks", "goals") * 3]
    newest_first = [run.id for run in reversed(runs)]
    assert [run.id for run in recent_runs(session, limit=4)] == newest_first[:4]
    assert [run.id for run in recent_runs(session, 10, kind="goals")] == [
        run.id for run in reversed(runs) if run.kind == "goals"
    ]


def test_finishing_a_run_keeps_plan_summary_and_error(session: Session) -> None:
    plan = {"ops": [{"id": "op-1", "after": {"name": "Écrire", "levels": [1, 2]}}]}
    run = start_run(session, kind="frameworks", site=SITE, plan=plan)
    finish_run(session, run, "failed", {"created": 0}, api_calls=2, error="LmsAuthError: token")
    session.flush()
    session.expire_all()
    stored = session.get(SyncRun, run.id)
    assert stored is not None
    assert stored.plan == plan
    assert (stored.status, stored.error) == ("failed", "LmsAuthError: token")
    with pytest.raises(ValueError, match="final status"):
        finish_run(session, stored, "running")


def test_bad_status_and_trigger_values_are_refused(session: Session) -> None:
    with pytest.raises(ValueError):
        start_run(session, kind="frameworks", site=SITE, trigger="cron")
    run = start_run(session, kind="frameworks", site=SITE)
    with pytest.raises(ValueError):
        record_step(session, run, "op-1", "CreateFramework", "maybe")
    session.flush()
    with pytest.raises(IntegrityError):
        session.execute(sa.update(SyncRun).where(SyncRun.id == run.id).values(status="bogus"))


def test_deleting_a_run_deletes_its_steps_in_the_database(session: Session) -> None:
    run = start_run(session, kind="frameworks", site=SITE)
    record_step(session, run, "op-1", "CreateFramework", "done", 5)
    session.execute(sa.delete(SyncRun).where(SyncRun.id == run.id))
    assert session.scalar(sa.select(sa.func.count()).select_from(SyncStep)) == 0


def test_session_scope_commits_or_rolls_back(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        _remember(session, "LOST", 1)
        raise RuntimeError("job failed")
    with session_scope(sessions) as session:
        _remember(session, "KEPT", 2)
    with session_scope(sessions) as session:
        assert set(objects_by_external_id(session, SITE, "competency", "OECD")) == {"KEPT"}


def test_record_steps_journals_a_batch_in_one_go_and_stays_idempotent(session) -> None:
    from store import done_op_ids, record_steps, start_run

    run = start_run(session, kind="frameworks", site="s")
    record_steps(session, run.id, [("op:a", "create", "done", 7, "created"),
                                   ("op:b", "create", "failed", None, "boom")])
    record_steps(session, run.id, [("op:b", "create", "done", 8, "created on resume")])
    assert done_op_ids(session, run.id) == {"op:a", "op:b"}
    import sqlalchemy as sa

    from store.models import SyncStep

    rows = session.execute(sa.select(SyncStep.op_id, SyncStep.lms_id, SyncStep.detail)
                           .where(SyncStep.run_id == run.id).order_by(SyncStep.op_id)).all()
    assert [tuple(r) for r in rows] == [("op:a", 7, {"detail": "created"}),
                                        ("op:b", 8, {"detail": "created on resume"})]


def test_remember_objects_records_many_in_one_go_and_updates_existing(session) -> None:
    from store import objects_by_external_id, remember_objects

    remember_objects(session, site="s", kind="competency", rows=[("FW", "A", 1), ("FW", "B", 2)])
    remember_objects(session, site="s", kind="competency", rows=[("FW", "B", 20)])
    found = objects_by_external_id(session, "s", "competency", "FW")
    assert {k: v.lms_id for k, v in found.items()} == {"A": 1, "B": 20}


def test_remember_fingerprints_writes_the_fingerprint_on_insert_and_update(session) -> None:
    import pytest

    from store import objects_by_external_id, remember_fingerprints

    remember_fingerprints(session, site="s", kind="plan", rows=[("g1@2", 10, "fp-a"),
                                                                ("g2@2", 11, None)])
    remember_fingerprints(session, site="s", kind="plan", rows=[("g1@2", 12, "fp-b")])
    found = objects_by_external_id(session, "s", "plan")
    assert {k: (v.lms_id, v.fingerprint) for k, v in found.items()} == {
        "g1@2": (12, "fp-b"), "g2@2": (11, None)}
    with pytest.raises(ValueError, match="given twice"):
        remember_fingerprints(session, site="s", kind="plan", rows=[("g3@2", 1, None),
                                                                    ("g3@2", 2, None)])
