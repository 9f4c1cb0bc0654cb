"""The practice channel: how claimed practice tasks reach the learner in the LMS.

The dispatcher (:mod:`webhooks.dispatch`) and the progress reader (:mod:`webhooks.progress`)
depend on this interface only; they never learn which LMS answers. Implementations:

* :class:`webhooks.message_channel.MessageChannel`: a message from the practice coach
  (Moodle's ``core_message_send_instant_messages``, or the same function among Totara's
  legacy web services);
* :class:`webhooks.goal_channel.GoalTaskChannel`: a goal task on the learner's "practice"
  perform goal (Totara 19+), whose completion feeds the schedule.

Every delivery carries the task's reference (``Ref: <clientmsgid>``), so a delivery whose
answer was lost can be found in the LMS before anything is sent again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from webhooks.claim import Claimed

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
D = TypeVar("D", bound="Delivered")


class Delivered(Protocol):
    """Something a delivery made in the LMS (a message, a goal task): the LMS's id of it."""

    @property
    def id(self) -> int: ...


def grouped(tasks: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    """``tasks`` by ``key`` (one LMS call per group), groups and tasks in their first order."""
    groups: dict[K, list[T]] = defaultdict(list)
    for task in tasks:
        groups[key(task)].append(task)
    return groups


def reference(task: Claimed | SentPractice) -> str:
    """The line every delivery carries and every look-up searches for."""
    return f"Ref: {task.clientmsgid}"


@dataclass
class Deliveries:
    """What one delivery of a batch did, task by task (task ids; every task in one place).

    ``sent``: delivered, with the LMS's id of what it made (message id, goal task id).
    ``refused``: the LMS refused this task for good (the reason). ``held``: nothing was
    delivered and trying again later may help (the reason). ``doubtful``: the delivery may
    have reached the LMS (a lost answer): look it up before any resend. ``errors``: what
    went wrong for the batch as a whole, for the run's report.
    """

    sent: dict[int, int] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    held: dict[int, str] = field(default_factory=dict)
    doubtful: dict[int, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class Lookup:
    """Which doubtful tasks the LMS has: ``found`` (task id -> the LMS's id), ``missing``
    (looked up, not there: safe to send again) and ``unknown`` (the look-up failed)."""

    found: dict[int, int] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)

    def match(self, tasks: Sequence[Claimed], delivered: Sequence[D],
              carries: Callable[[D, Claimed], bool]) -> None:
        """Each of ``tasks`` is ``found`` (the first of ``delivered`` that ``carries`` it) or
        ``missing``: what one look-up in the LMS answered for them."""
        for task in tasks:
            hit = next((item for item in delivered if carries(item, task)), None)
            if hit is None:
                self.missing.append(task.id)
            else:
                self.found[task.id] = hit.id


@dataclass(frozen=True)
class SentPractice:
    """A delivered, unanswered task whose progress the LMS may know."""

    id: int
    sequence_id: int
    learner_id: int
    course_id: int
    competency_id: int | None
    clientmsgid: str
    lms_ref: int


@dataclass
class Progress:
    """What the learners did in the LMS: tasks they marked done, and tasks the channel
    could not ask about this time (asked again next run)."""

    done: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class PracticeChannel(Protocol):
    """Delivers practice tasks to learners through one LMS feature."""

    @property
    def name(self) -> str:
        """A short name for reports and logs ("messages", "goal tasks")."""
        ...

    @property
    def reports_progress(self) -> bool:
        """Whether the LMS lets the learner mark a delivered task done (see :meth:`progress`)."""
        ...

    def deliver(self, tasks: Sequence[Claimed]) -> Deliveries:
        """Deliver ``tasks``; every task ends in exactly one field of the answer. Never
        raises for an LMS fault (it is a ``held`` or ``doubtful`` outcome)."""
        ...

    def find_delivered(self, tasks: Sequence[Claimed]) -> Lookup:
        """Which of ``tasks`` (doubtful deliveries) the LMS has, by their reference; never
        raises for an LMS fault (those tasks are ``unknown``)."""
        ...

    def after_delivery(self, tasks: Sequence[Claimed]) -> None:
        """Optional extras for delivered ``tasks`` (best effort, never raises)."""
        ...

    def progress(self, tasks: Sequence[SentPractice]) -> Progress:
        """Which of ``tasks`` the learner marked done in the LMS; never raises for an LMS
        fault (those tasks are ``unknown``)."""
        ...

    def mark_done(self, tasks: Sequence[SentPractice]) -> Progress:
        """Mark ``tasks`` done in the LMS (the learner said so on the practice page):
        ``done`` holds those now marked, or found marked or gone; never raises for an LMS
        fault (those tasks are ``unknown``, tried again next run)."""
        ...
