"""The state store's tables, as SQLAlchemy 2 declarative models.

The schema changes only through Alembic migrations (`store/migrations/versions/`); a test compares
these models with the migrated database, so a model changed without a migration fails the suite.
Constraint names come from `NAMING_CONVENTION`, which keeps migrations identical on SQLite and
PostgreSQL and lets batch mode on SQLite find constraints by name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps.

    PostgreSQL stores `timestamptz`; SQLite has no time zones, so the value is stored as naive UTC
    and UTC is attached again on the way out. Naive datetimes are refused on the way in: their
    meaning depends on the machine's clock settings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class RunStatus(StrEnum):
    """Where a sync run stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"


class StepStatus(StrEnum):
    """The outcome of one plan operation within a run."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class RunTrigger(StrEnum):
    """What started a run."""

    CLI = "cli"
    SCHEDULE = "schedule"
    WEBHOOK = "webhook"
    ADMIN = "admin"


def _one_of(column: str, values: type[StrEnum]) -> str:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


class Base(DeclarativeBase):
    """The declarative base of every store model; its metadata is what migrations must match."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class LmsObject(Base):
    """The LMS id of one object lms-sidecar synced, keyed by site, kind, scope and external id."""

    __tablename__ = "lms_objects"
    __table_args__ = (
        UniqueConstraint("site", "kind", "scope", "external_id"),
        Index(None, "site", "kind", "lms_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(255), default="")
    external_id: Mapped[str] = mapped_column(String(255))
    lms_id: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return (
            f"LmsObject(site={self.site!r}, kind={self.kind!r}, scope={self.scope!r}, "
            f"external_id={self.external_id!r}, lms_id={self.lms_id!r})"
        )


class SyncRun(Base):
    """One sync, apply or plan run, with its outcome; its steps are the resumable journal."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        CheckConstraint(_one_of("status", RunStatus), name="status"),
        CheckConstraint(_one_of("trigger", RunTrigger), name="trigger"),
        Index(None, "site", "kind", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    site: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger: Mapped[str] = mapped_column(String(16), default=RunTrigger.CLI.value)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    plan: Mapped[dict[str, Any] | list[Any] | None] = mapped_column(JSON)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list[SyncStep]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SyncStep.id",
    )

    def __repr__(self) -> str:
        return (
            f"SyncRun(id={self.id!r}, kind={self.kind!r}, site={self.site!r}, "
            f"status={self.status!r}, dry_run={self.dry_run!r})"
        )


class SyncStep(Base):
    """The recorded outcome of one plan operation (`op_id`) within a run; one row per op."""

    __tablename__ = "sync_steps"
    __table_args__ = (
        UniqueConstraint("run_id", "op_id"),
        CheckConstraint(_one_of("status", StepStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"))
    op_id: Mapped[str] = mapped_column(String(255))
    op_kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    lms_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    run: Mapped[SyncRun] = relationship(back_populates="steps")

    def __repr__(self) -> str:
        return f"SyncStep(run_id={self.run_id!r}, op_id={self.op_id!r}, status={self.status!r})"


class Lock(Base):
    """A named lock row, for SQLite, which has no advisory locks (see `db.advisory_lock`)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SuggestionStatus(StrEnum):
    """Where a mapping suggestion stands: waiting for a person, or decided."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class MapSuggestion(Base):
    """A proposed course-to-competency link with its score and evidence, and its decision.

    One row per (site, course, framework, competency): a rejected pair is never proposed again.
    """

    __tablename__ = "map_suggestions"
    __table_args__ = (
        UniqueConstraint("site", "course", "framework", "competency"),
        CheckConstraint(_one_of("status", SuggestionStatus), name="status"),
        Index(None, "site", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    course: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int] = mapped_column(Integer)
    framework: Mapped[str] = mapped_column(String(255))
    competency: Mapped[str] = mapped_column(String(255))
    competency_id: Mapped[int] = mapped_column(Integer)
    competency_name: Mapped[str] = mapped_column(String(255), default="")
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    method: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=SuggestionStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(255))

    def __repr__(self) -> str:
        return (f"MapSuggestion(id={self.id!r}, course={self.course!r}, "
                f"competency={self.competency!r}, score={self.score!r}, status={self.status!r})")


class AuditEntry(Base):
    """One decision, kept for good: who, when, what, from which suggestion, with what score.

    Append-only: the migration adds database triggers that refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    site: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(512))
    suggestion_id: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return (f"AuditEntry(id={self.id!r}, actor={self.actor!r}, action={self.action!r}, "
                f"subject={self.subject!r})")


class InboxStatus(StrEnum):
    """Where an inbox event stands: new, claimed by a worker, or finished one way or another."""

    NEW = "new"
    CLAIMED = "claimed"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class InboxEvent(Base):
    """One event received by webhook or found by reconciliation, committed before the 2xx.

    ``dedupe_key`` is source-independent (a completion is ``completion:<course>:<user>:<minute>``),
    so a redelivery or the same completion found by polling creates nothing new; ``(source,
    event_id)`` catches a sender's redelivery of one id.
    """

    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        UniqueConstraint("source", "event_id"),
        CheckConstraint(_one_of("status", InboxStatus), name="status"),
        Index(None, "status", "id"),
        Index(None, "course_id", "user_id"),
        Index(None, "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str | None] = mapped_column(String(255))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(255))
    course_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.NEW.value)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    detail: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return (f"InboxEvent(id={self.id!r}, source={self.source!r}, "
                f"event_id={self.event_id!r}, status={self.status!r})")


class Watermark(Base):
    """How far a periodic job has looked (e.g. completion reconciliation per report or course)."""

    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    position: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


# --- Follow-up practice (migration 0004) ---


class SequenceState(StrEnum):
    """Where a learner's follow-up sequence stands; only `active` ones are sent."""

    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    """Where one practice task stands. `sending` may have reached the LMS: it is looked up
    there before it is sent again."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    ANSWERED = "answered"
    CANCELLED = "cancelled"
    FAILED = "failed"


class FollowupSequence(Base):
    """The follow-up practice of one learner after one course, by one plan (one row each)."""

    __tablename__ = "followup_sequences"
    __table_args__ = (
        UniqueConstraint("site", "learner_id", "course_id", "plan_id"),
        CheckConstraint(_one_of("state", SequenceState), name="state"),
        Index(None, "site", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[int] = mapped_column(Integer)
    learner_name: Mapped[str] = mapped_column(String(255), default="")
    learner_firstname: Mapped[str] = mapped_column(String(255), default="")
    learner_timezone: Mapped[str | None] = mapped_column(String(64))
    course_id: Mapped[int] = mapped_column(Integer)
    course_shortname: Mapped[str] = mapped_column(String(255), default="")
    course_name: Mapped[str] = mapped_column(String(255), default="")
    competency: Mapped[str | None] = mapped_column(String(255))
    competency_id: Mapped[int | None] = mapped_column(Integer)
    competency_name: Mapped[str] = mapped_column(String(255), default="")
    plan_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=SequenceState.ACTIVE.value)
    stop_reason: Mapped[str | None] = mapped_column(String(255))
    completed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    inbox_id: Mapped[int | None] = mapped_column(Integer)
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    tasks: Mapped[list[FollowupTask]] = relationship(
        back_populates="sequence", cascade="all, delete-orphan", passive_deletes=True,
        order_by="FollowupTask.id")

    def __repr__(self) -> str:
        return (f"FollowupSequence(id={self.id!r}, learner_id={self.learner_id!r}, "
                f"course_id={self.course_id!r}, plan_id={self.plan_id!r}, state={self.state!r})")


class FollowupTask(Base):
    """One practice task message to send (or sent): text, due time, claim and LMS message id."""

    __tablename__ = "followup_tasks"
    __table_args__ = (
        UniqueConstraint("sequence_id", "task_index", "attempt"),
        UniqueConstraint("clientmsgid"),
        CheckConstraint(_one_of("status", TaskStatus), name="status"),
        Index(None, "status", "due_at"),
        Index(None, "learner_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence_id: Mapped[int] = mapped_column(
        ForeignKey("followup_sequences.id", ondelete="CASCADE"))
    learner_id: Mapped[int] = mapped_column(Integer)
    task_index: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    clientmsgid: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.SCHEDULED.value)
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sends: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    msgid: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    sequence: Mapped[FollowupSequence] = relationship(back_populates="tasks")

    def __repr__(self) -> str:
        return (f"FollowupTask(id={self.id!r}, sequence_id={self.sequence_id!r}, "
                f"task_index={self.task_index!r}, attempt={self.attempt!r}, "
                f"status={self.status!r})")


class FollowupAnswer(Base):
    """The learner's answer to one task (one per task) and the FSRS rating it became."""

    __tablename__ = "followup_answers"
    __table_args__ = (UniqueConstraint("task_id"), Index(None, "sequence_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("followup_tasks.id", ondelete="CASCADE"))
    sequence_id: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: when the answer was also marked in the LMS (a Totara goal task ticked), or found there
    lms_marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FollowupOptOut(Base):
    """A learner who asked for no more follow-up practice from this site."""

    __tablename__ = "followup_optouts"
    __table_args__ = (UniqueConstraint("site", "learner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="learner")
