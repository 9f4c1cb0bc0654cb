"""The state store: SQLAlchemy 2 models, Alembic migrations and the repository functions.

SQLite by default, PostgreSQL by URL for several instances. The schema changes only through the
migrations in `store/migrations/versions/`; `migrate(engine)` applies them.
"""

from store.db import (
    MigrationError,
    StoreError,
    advisory_lock,
    create_engine,
    current_revision,
    display_url,
    migrate,
    pending_migrations,
    session_factory,
    session_scope,
)
from store.models import Base, LmsObject, RunStatus, RunTrigger, StepStatus, SyncRun, SyncStep
from store.repository import (
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
    start_run,
)

__all__ = [
    "Base",
    "LmsObject",
    "MigrationError",
    "RunStatus",
    "RunTrigger",
    "StepStatus",
    "StoreError",
    "SyncRun",
    "SyncStep",
    "advisory_lock",
    "create_engine",
    "current_revision",
    "display_url",
    "done_op_ids",
    "find_by_lms_id",
    "find_object",
    "finish_run",
    "forget_object",
    "last_unfinished_run",
    "migrate",
    "objects_by_external_id",
    "pending_migrations",
    "recent_runs",
    "record_step",
    "remember_object",
    "session_factory",
    "session_scope",
    "start_run",
]
