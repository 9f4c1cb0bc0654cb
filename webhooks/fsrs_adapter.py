"""Learner answers as FSRS ratings, and the next interval in whole days within the plan's bounds.

FSRS (the ``fsrs`` package, 6.x API: ``Scheduler``, ``Card``, ``Rating``) models how well a
practice habit is retained. Its learning steps are day-scale here (a task is a real-world
action, not a flash card), fuzzing is off so the schedule is reproducible, and the interval it
proposes is held within bounds derived from the plan's own spacing: the plan's author sets the
rhythm, FSRS leans it shorter or longer by the answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from fsrs import Card, Rating, Scheduler

#: Largest factor by which FSRS may stretch or shrink a planned gap.
STRETCH = 2.0


class Answer(StrEnum):
    """What a learner can say about a practice task on the answer page."""

    DONE = "done"
    HARD = "hard"
    NOT_YET = "not_yet"
    SKIP = "skip"
    STOP = "stop"


RATINGS: dict[Answer, Rating | None] = {
    Answer.DONE: Rating.Good,
    Answer.HARD: Rating.Hard,
    Answer.NOT_YET: Rating.Again,
    Answer.SKIP: None,
    Answer.STOP: None,
}


@dataclass(frozen=True)
class Review:
    """The card after an answer and the interval until the next task, in whole days."""

    card: dict[str, Any] | None
    days: int
    rating: int | None


def _scheduler(first_gap_days: int, longest_days: int) -> Scheduler:
    step = (timedelta(days=max(1, first_gap_days)),)
    return Scheduler(learning_steps=(), relearning_steps=step, enable_fuzzing=False,
                     maximum_interval=max(1, longest_days))


def bounds(planned_days: int, longest_days: int, rating: Rating = Rating.Good) -> tuple[int, int]:
    """Shortest and longest interval allowed after ``rating`` for a planned gap of
    ``planned_days``: Good within half to twice the gap (at most the plan's longest spacing),
    Hard within half the gap to the gap (never later than planned), Again within one day to
    half the gap (soon, but not at once)."""
    half = max(1, math.floor(planned_days / STRETCH))
    if rating == Rating.Again:
        return 1, half
    if rating == Rating.Hard:
        return half, max(half, planned_days)
    high = min(max(longest_days, planned_days), math.ceil(planned_days * STRETCH))
    return half, max(half, high)


def review(card: dict[str, Any] | None, answer: Answer, at: datetime, *, planned_days: int,
           first_gap_days: int, longest_days: int) -> Review:
    """Apply ``answer`` (given at ``at``) to the stored ``card`` and say how many days until the
    next task. Answers without a rating (skip, stop) leave the card and keep the plan's gap."""
    rating = RATINGS[answer]
    if rating is None:
        return Review(card, planned_days, None)
    current = Card.from_dict(card) if card else Card(card_id=1, due=at)  # type: ignore[arg-type]
    updated, _ = _scheduler(first_gap_days, longest_days).review_card(
        current, rating, review_datetime=at)
    proposed = max(1, round((updated.due - at) / timedelta(days=1)))
    low, high = bounds(planned_days, longest_days, rating)
    card_state: dict[str, Any] = dict(updated.to_dict())
    return Review(card_state, min(max(proposed, low), high), int(rating))


def initial_card(completed_at: datetime, first_gap_days: int, longest_days: int) -> dict[str, Any]:
    """The card of a new sequence: completing the course counts as its first good review."""
    card, _ = _scheduler(first_gap_days, longest_days).review_card(
        Card(card_id=1, due=completed_at), Rating.Good, review_datetime=completed_at)
    return dict(card.to_dict())
