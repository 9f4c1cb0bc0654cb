"""What every framework sync offers the schedule, whatever the LMS behind it.

A Moodle site is written through its web services (:class:`sync.job.FrameworkSync`); a Totara
site, whose API cannot write competencies, gets an HR Import file
(:class:`sync.hrimport.HrImportSync`). The composition root picks one
(:func:`sidecar.wiring.build_framework_target`); the scheduler and anything else that only
needs "run it and tell me how it went" depends on this interface alone.
"""

from __future__ import annotations

from typing import Protocol


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
