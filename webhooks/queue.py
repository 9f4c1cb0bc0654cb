"""The follow-up queue as people read it: sequences with their counts, one sequence's tasks.

One read model for the CLI (``sidecar followups list|show``) and the admin pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import FollowupAnswer, FollowupSequence, FollowupTask


def sequence_row(s: FollowupSequence, tasks_sent: int, answers: int) -> dict[str, Any]:
    """One sequence as a flat row (JSON-ready)."""
    return {"id": s.id, "learner_id": s.learner_id, "learner": s.learner_name,
            "course": s.course_shortname, "competency": s.competency, "plan": s.plan_id,
            "state": s.state, "reason": s.stop_reason, "tasks_sent": tasks_sent,
            "answers": answers, "completed_at": s.completed_at.isoformat(timespec="seconds")}


def list_sequences(session: Session, *, states: Sequence[str] = (), learner: int | None = None,
                   limit: int = 50) -> list[dict[str, Any]]:
    """Sequences newest first, with how many tasks were sent and answered."""
    query = select(FollowupSequence).order_by(FollowupSequence.id.desc()).limit(limit)
    if states:
        query = query.where(FollowupSequence.state.in_(list(states)))
    if learner is not None:
        query = query.where(FollowupSequence.learner_id == learner)
    sequences = list(session.scalars(query))
    ids = [s.id for s in sequences]
    sent: dict[int, int] = dict(session.execute(
        select(FollowupTask.sequence_id, func.count())
        .where(FollowupTask.sent_at.is_not(None), FollowupTask.sequence_id.in_(ids))
        .group_by(FollowupTask.sequence_id)).all())
    answered: dict[int, int] = dict(session.execute(
        select(FollowupAnswer.sequence_id, func.count())
        .where(FollowupAnswer.sequence_id.in_(ids))
        .group_by(FollowupAnswer.sequence_id)).all())
    return [sequence_row(s, sent.get(s.id, 0), answered.get(s.id, 0)) for s in sequences]


def sequence_detail(session: Session, sequence_id: int) -> dict[str, Any] | None:
    """One sequence with every task (due, sent, answer, text); None when there is none."""
    sequence = session.get(FollowupSequence, sequence_id)
    if sequence is None:
        return None
    answers = {a.task_id: a for a in session.scalars(
        select(FollowupAnswer).where(FollowupAnswer.sequence_id == sequence_id))}
    tasks = [{"id": t.id, "task": t.task_index + 1, "repeat": t.attempt, "status": t.status,
              "due_at": t.due_at.isoformat(timespec="minutes"),
              "sent_at": t.sent_at.isoformat(timespec="minutes") if t.sent_at else None,
              "msgid": t.msgid, "answer": answers[t.id].answer if t.id in answers else None,
              "error": t.error, "text": t.text} for t in sequence.tasks]
    return {**sequence_row(sequence, sum(1 for t in tasks if t["sent_at"]), len(answers)),
            "tasks": tasks}
