"""New completions from the inbox become follow-up sequences.

The inbox (``webhooks.inbox``, owned by the receiver) hands out claimed completion events;
each is looked up in the LMS (learner, course, the course's competencies), matched against
the plans and turned into sequences, then marked processed, ignored (no plan applies) or
failed (the LMS could not be asked; the detail says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import store
from connector.errors import LmsError
from connector.moodle.client import MoodleClient
from connector.moodle.text import plain_name
from webhooks.clock import Clock
from webhooks.policy import Policy
from webhooks.schedule import Completion, Rules, start_sequences

log = logging.getLogger(__name__)


class CompletionLike(Protocol):
    @property
    def inbox_id(self) -> int: ...
    @property
    def userid(self) -> int: ...
    @property
    def courseid(self) -> int: ...
    @property
    def completed_at(self) -> datetime: ...


class Inbox(Protocol):
    """The two inbox functions the outbound half uses (``webhooks.inbox``)."""

    def claim_new_completions(self, session: Session, limit: int) -> list[CompletionLike]: ...

    def mark_processed(self, session: Session, inbox_id: int, status: str,
                       detail: str | None = None) -> None: ...


@dataclass
class IntakeReport:
    started: int = 0
    ignored: int = 0
    failed: int = 0
    sequences: list[int] = field(default_factory=list)


def describe(client: MoodleClient, event: CompletionLike, *,
             competencies: bool = True) -> Completion:
    """What the LMS says about the learner, the course and (``competencies``: the LMS has
    Moodle's course competencies; Totara's web services do not) the course's competencies.

    Raises:
        LmsError: a lookup failed; LookupError: the learner or course does not exist.
    """
    users = client.users_by_field("id", [event.userid])
    courses = client.courses_by_field("id", event.courseid)
    if not users or not courses:
        raise LookupError(f"learner {event.userid} or course {event.courseid} is not in the LMS")
    user, course = users[0], courses[0]
    links = client.course_competencies(course.id) if competencies else []
    return Completion(
        userid=user.id, courseid=course.id, completed_at=event.completed_at,
        learner_fullname=plain_name(user.fullname or f"{user.firstname} {user.lastname}"),
        learner_firstname=plain_name(user.firstname), learner_timezone=user.timezone or None,
        course_shortname=course.shortname, course_idnumber=course.idnumber,
        course_name=plain_name(course.fullname),
        competencies=[(c.competency.idnumber, c.competency.id, plain_name(c.competency.shortname))
                      for c in links],
        inbox_id=event.inbox_id)


def take_completions(engine: Engine, inbox: Inbox, client: MoodleClient, policy: Policy,
                     rules: Rules, clock: Clock, limit: int = 100, *,
                     competencies: bool = True) -> IntakeReport:
    """Claim up to ``limit`` new completions and open their sequences (``competencies``: as
    :func:`describe`)."""
    factory = store.session_factory(engine)
    report = IntakeReport()
    with store.session_scope(factory) as session:
        events = inbox.claim_new_completions(session, limit)
    for event in events:
        try:
            done = describe(client, event, competencies=competencies)
        except (LmsError, LookupError) as exc:
            log.warning("completion %s (learner %s, course %s) not scheduled: %s",
                        event.inbox_id, event.userid, event.courseid, exc)
            with store.session_scope(factory) as session:
                inbox.mark_processed(session, event.inbox_id, "failed", str(exc)[:500])
            report.failed += 1
            continue
        with store.session_scope(factory) as session:
            created = start_sequences(session, policy, rules, done, clock.now())
            if created:
                inbox.mark_processed(session, event.inbox_id, "processed",
                                     f"{len(created)} follow-up sequence(s)")
                report.started += len(created)
                report.sequences.extend(s.id for s in created)
            else:
                inbox.mark_processed(session, event.inbox_id, "ignored",
                                     "no follow-up plan applies (or already scheduled)")
                report.ignored += 1
    return report
