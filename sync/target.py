"""What every framework sync offers the schedule, whatever the LMS behind it.

A Moodle site is written through its web services (:class:`sync.job.FrameworkSync`); a Totara
site, whose API cannot write competencies, gets an HR Import file
(:class:`sync.hrimport.HrImportSync`). The composition root picks one
(:func:`sidecar.wiring.build_framework_target`); the scheduler and anything else that only
needs "run it and tell me how it went" depends on this interface alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

import store
from connector.errors import LmsError
from sync.errors import SyncBusyError, SyncError

T = TypeVar("T")


class SyncOutcome(Protocol):
    """How one run went."""

    @property
    def ok(self) -> bool:
        """True when every step landed."""
        ...

    @property
    def run_id(self) -> int:
        """The run's id in the store (``sidecar status`` lists it)."""
        ...

    def describe(self) -> str:
        """One line for the log: what was done, or what failed."""
        ...


class FrameworkTarget(Protocol):
    """Plans and applies the framework sources to one site, recording each run."""

    @property
    def run_kind(self) -> str:
        """The kind under which the store records this sync's runs."""
        ...

    @property
    def site(self) -> str:
        ...

    def run(self, *, trigger: str = "schedule") -> SyncOutcome:
        """Plan from the sources and apply; a failure before any step is recorded as a
        failed run too.

        Raises:
            SyncBusyError: another run for this site holds the lock (nothing recorded).
            SyncError, LmsError: the run failed (recorded as failed first).
        """
        ...


def run_recorded(apply: Callable[[], T], sessions: sessionmaker[Session], *, kind: str,
                 site: str, trigger: str,
                 unrecorded: tuple[type[Exception], ...] = (SyncError, LmsError)) -> T:
    """``apply()`` as a schedule runs it: a failure that left no run behind (bad sources, the
    site unreachable before any step) is recorded as a failed run, so no run fails silently.

    ``unrecorded`` are the errors that ``apply`` raises without having recorded a run itself.

    Raises:
        SyncBusyError: another run holds the lock (nothing recorded: not a failure).
        The errors of ``apply``, after recording the failed run.
    """
    try:
        return apply()
    except SyncBusyError:
        raise
    except unrecorded as exc:
        with store.session_scope(sessions) as session:
            run = store.start_run(session, kind=kind, site=site, trigger=trigger)
            store.finish_run(session, run, "failed", error=str(exc)[:4000])
        raise
