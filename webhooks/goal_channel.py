"""Practice tasks as goal tasks on the learner's "practice" perform goal (Totara 19+).

Per learner and competency (or course, when the plan names no competency) one perform goal
holds the practice tasks, found by its ``id_number`` with ``perform_goal_user_goals`` before
it is ever created (``perform_goal_create_goal``), so a rerun or a crash never makes a second
one. Each task is a goal task (``perform_goal_create_goal_task``) linked to the course as its
resource; its description carries the task, the answer link and the reference line. A
doubtful delivery is looked up among the goal's tasks (``perform_goal_get_goal_tasks``) by that
reference before anything is sent again. When the learner ticks a task in Totara, the
progress reader (:mod:`webhooks.progress`) records it as "done".

Assumptions (the contract leaves them open; see the report of this change and
docs/totara.md): the goal task description is plain text; a goal is created with ``name``,
``user{id}``, ``id_number``, ``description``, ``start_date``/``target_date`` as ISO dates
and ``target_type: "date"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from threading import Lock

from sqlalchemy import Engine, select

import store
from connector.errors import LmsConnectionError, LmsError, MutationFailedError
from connector.totara.client import TotaraClient
from connector.totara.models import GoalTask
from store.models import FollowupSequence
from webhooks.channel import Deliveries, Lookup, Progress, SentPractice, grouped, reference
from webhooks.claim import Claimed
from webhooks.clock import Clock

log = logging.getLogger(__name__)

ID_NUMBER_PREFIX = "lms-sidecar-practice"
GOAL_DURATION = timedelta(days=365)
Task = Claimed | SentPractice


def goal_id_number(task: Task) -> str:
    """The practice goal's ``id_number``: one per learner and competency (or course)."""
    subject = (f"competency-{task.competency_id}" if task.competency_id is not None
               else f"course-{task.course_id}")
    return f"{ID_NUMBER_PREFIX}-{task.learner_id}-{subject}"


def carries(description: str | None, task: Task) -> bool:
    """Whether a goal task's description carries ``task``'s reference as a line of its own
    (so ``...-0-1`` never matches ``...-0-10``)."""
    ref = reference(task)
    return any(line.strip() == ref for line in (description or "").splitlines())


@dataclass
class GoalTaskChannel:
    """Delivers tasks as goal tasks with ``client`` (the API client's service account);
    ``engine`` names a new goal after the sequence's competency or course."""

    client: TotaraClient
    engine: Engine
    link_for: Callable[[int, int], str]
    clock: Clock
    name: str = "goal tasks"
    reports_progress: bool = True
    _goals: dict[int, dict[str, int]] = field(default_factory=dict)  # learner -> id_number -> id
    _lock: Lock = field(default_factory=Lock)

    def description(self, task: Claimed) -> str:
        """The goal task's text: the task, the answer link, the reference line."""
        link = self.link_for(task.id, task.learner_id)
        return (f"{task.text}\n\nTick this task when you have done it, or tell us how it "
                f"went (done, hard, not yet, skip): {link}\n\n{reference(task)}")

    def deliver(self, tasks: Sequence[Claimed]) -> Deliveries:
        """One goal task per task, on the learner's practice goal (made when missing).

        A lost answer makes the task doubtful; ``success: false`` refuses it for good;
        any other fault holds it (nothing was created)."""
        outcome = Deliveries()
        for goal_number, group in grouped(tasks, goal_id_number).items():
            try:
                goal_id = self._goal(group[0], goal_number, create=True)
            except LmsConnectionError as exc:  # the goal may exist now: look the tasks up
                outcome.doubtful.update({t.id: str(exc) for t in group})
                _note(outcome.errors, exc)
                continue
            except LmsError as exc:
                outcome.held.update({t.id: _text(exc) for t in group})
                _note(outcome.errors, exc)
                continue
            if goal_id is None:  # create=True always yields a goal; kept for the type checker
                outcome.held.update({t.id: "no practice goal" for t in group})
                continue
            for task in group:
                self._create_task(goal_id, task, outcome)
        return outcome

    def _create_task(self, goal_id: int, task: Claimed, outcome: Deliveries) -> None:
        try:
            made = self.client.create_goal_task(goal_id, self.description(task),
                                                course_id=task.course_id)
        except LmsConnectionError as exc:
            outcome.doubtful[task.id] = str(exc)
            _note(outcome.errors, exc)
        except MutationFailedError as exc:
            log.error("Totara refused follow-up %s for learner %s: %s", task.clientmsgid,
                      task.learner_id, exc)
            outcome.refused[task.id] = _text(exc)
        except LmsError as exc:
            outcome.held[task.id] = _text(exc)
            _note(outcome.errors, exc)
        else:
            outcome.sent[task.id] = made.id

    def find_delivered(self, tasks: Sequence[Claimed]) -> Lookup:
        """Search each practice goal's tasks for the tasks' references (one
        ``perform_goal_get_goal_tasks`` call per goal, one goal look-up per learner)."""
        lookup = Lookup()
        for goal_number, group in grouped(tasks, goal_id_number).items():
            try:
                goal_id = self._goal(group[0], goal_number, create=False)
                made = self.client.goal_tasks(goal_id) if goal_id is not None else []
            except LmsError as exc:
                log.warning("could not look up %d follow-ups of learner %s: %s", len(group),
                            group[0].learner_id, exc)
                lookup.unknown.extend(t.id for t in group)
                continue
            lookup.match(group, made, lambda item, task: carries(item.description, task))
        return lookup

    def after_delivery(self, tasks: Sequence[Claimed]) -> None:
        """Nothing: a goal task is visible on the learner's goal page already."""

    def progress(self, tasks: Sequence[SentPractice]) -> Progress:
        """The tasks whose goal task the learner ticked (``completed``); one goal look-up per
        learner and one ``perform_goal_get_goal_tasks`` call per goal."""
        found = Progress()
        for task, item in self._goal_tasks_of(tasks, found):
            if item is not None and item.completed:
                found.done.append(task.id)
        return found

    def mark_done(self, tasks: Sequence[SentPractice]) -> Progress:
        """Tick the goal tasks of ``tasks`` (answered "done" on the practice page) that are
        not ticked yet: the same reads as :meth:`progress`, one write per task to tick. A goal
        task ticked already, or gone from Totara, counts as done (nothing is left to do)."""
        found = Progress()
        for task, item in self._goal_tasks_of(tasks, found):
            if item is not None and not item.completed:
                try:
                    self.client.complete_goal_task(item.id)
                except LmsError as exc:
                    log.warning("could not tick goal task %s of learner %s: %s", item.id,
                                task.learner_id, exc)
                    found.unknown.append(task.id)
                    _note(found.errors, exc)
                    continue
            found.done.append(task.id)
        return found

    def _goal_tasks_of(self, tasks: Sequence[SentPractice],
                       found: Progress) -> Iterator[tuple[SentPractice, GoalTask | None]]:
        """Each task with its goal task in Totara (None when gone, or no longer carrying the
        task's reference); tasks whose goal cannot be read go to ``found.unknown``."""
        for goal_number, group in grouped(tasks, goal_id_number).items():
            try:
                goal_id = self._goal(group[0], goal_number, create=False)
                made = {m.id: m for m in self.client.goal_tasks(goal_id)} \
                    if goal_id is not None else {}
            except LmsError as exc:
                log.warning("could not read the practice goal of learner %s: %s",
                            group[0].learner_id, exc)
                found.unknown.extend(t.id for t in group)
                _note(found.errors, exc)
                continue
            for task in group:
                item = made.get(task.lms_ref)
                yield task, item if item is not None and carries(item.description, task) \
                    else None

    # -- the practice goal ---------------------------------------------------------------------

    def _goal(self, task: Task, goal_number: str, *, create: bool) -> int | None:
        """The id of ``task``'s practice goal; made when missing and ``create`` is set."""
        with self._lock:
            known = self._goals.get(task.learner_id)
        if known is None or (create and goal_number not in known):
            known = self._read_goals(task.learner_id)
        if goal_number in known or not create:
            return known.get(goal_number)
        try:
            goal = self.client.create_goal(self._goal_fields(task, goal_number))
        except MutationFailedError:
            # Another worker made it a moment ago (id_number taken): read it back.
            known = self._read_goals(task.learner_id)
            if goal_number in known:
                return known[goal_number]
            raise
        with self._lock:
            self._goals.setdefault(task.learner_id, {})[goal_number] = goal.id
        log.info("practice goal %s created for learner %s", goal_number, task.learner_id)
        return goal.id

    def _read_goals(self, learner_id: int) -> dict[str, int]:
        goals = {g.id_number: g.id for g in self.client.user_goals(learner_id)
                 if g.id_number and g.id_number.startswith(ID_NUMBER_PREFIX)}
        with self._lock:
            self._goals[learner_id] = goals
        return goals

    def _goal_fields(self, task: Task, goal_number: str) -> dict[str, object]:
        subject = self._subject(task.sequence_id)
        today = self.clock.now().date()
        return {"name": f"Practice: {subject}"[:255], "user": {"id": task.learner_id},
                "id_number": goal_number,
                "description": f"Short practice tasks after {subject}, added by lms-sidecar "
                               "as they fall due. Tick each one when you have done it.",
                "start_date": today.isoformat(), "target_type": "date",
                "target_date": (today + GOAL_DURATION).isoformat()}

    def _subject(self, sequence_id: int) -> str:
        """What the goal is about: the competency's name, else the course's."""
        with store.session_scope(store.session_factory(self.engine)) as session:
            row = session.execute(select(FollowupSequence.competency_name,
                                         FollowupSequence.course_name)
                                  .where(FollowupSequence.id == sequence_id)).first()
        if row is None:
            return "your course"
        return row.competency_name or row.course_name or "your course"


def _text(exc: LmsError) -> str:
    return str(exc)[:500]


def _note(errors: list[str], exc: LmsError) -> None:
    if str(exc) not in errors:
        errors.append(str(exc))
