"""Managers' view: practice done per competency (a signal of learning, not of activity).

Not written back to the learner's plan: the only web-service function that writes into a
plan's competency is ``core_competency_grade_competency_in_plan`` (a rating, with a note), and
rating a person is a human decision lms-sidecar never makes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import FollowupAnswer, FollowupSequence, FollowupTask, SequenceState


@dataclass(frozen=True)
class CompetencyPractice:
    competency: str
    learners: int
    sent: int
    done: int
    hard: int
    not_yet: int
    skipped: int
    stopped: int
    days_to_first: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def practice_by_competency(session: Session, site: str) -> list[CompetencyPractice]:
    """One row per competency (``(course <shortname>)`` for plans without one)."""
    sequences = list(session.scalars(select(FollowupSequence).where(
        FollowupSequence.site == site)))
    sent = dict.fromkeys((s.id for s in sequences), 0)
    for (sequence_id,) in session.execute(select(FollowupTask.sequence_id).where(
            FollowupTask.sent_at.is_not(None))):
        if sequence_id in sent:
            sent[sequence_id] += 1
    answers: dict[int, list[FollowupAnswer]] = {}
    for answer in session.scalars(select(FollowupAnswer).order_by(FollowupAnswer.answered_at)):
        answers.setdefault(answer.sequence_id, []).append(answer)
    groups: dict[str, list[FollowupSequence]] = {}
    for s in sequences:
        groups.setdefault(s.competency or f"(course {s.course_shortname})", []).append(s)
    rows = []
    for key, members in sorted(groups.items()):
        given = [a for s in members for a in answers.get(s.id, [])]
        firsts = []
        for s in members:
            done = [a for a in answers.get(s.id, []) if a.answer in ("done", "hard")]
            if done:
                firsts.append((done[0].answered_at - s.completed_at).total_seconds() / 86400)
        rows.append(CompetencyPractice(
            competency=key, learners=len({s.learner_id for s in members}),
            sent=sum(sent[s.id] for s in members),
            done=sum(a.answer == "done" for a in given),
            hard=sum(a.answer == "hard" for a in given),
            not_yet=sum(a.answer == "not_yet" for a in given),
            skipped=sum(a.answer == "skip" for a in given),
            stopped=sum(s.state == SequenceState.STOPPED.value for s in members),
            days_to_first=median(firsts) if firsts else None))
    return rows
