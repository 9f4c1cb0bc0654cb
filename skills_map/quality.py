"""Measuring suggestion quality against a labelled set, and tuning a threshold from decisions.

Quality is measured, not asserted: ``bench/suggestions.py`` runs :func:`evaluate` over the
sandbox catalogue and the example frameworks with the labels in ``tests/data/``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from skills_map.suggest import Ranking, Suggestion

Labels = dict[str, frozenset[str]]


def read_labels(path: Path) -> Labels:
    """``course shortname: [competency idnumbers]`` from a YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of course shortname to idnumbers")
    return {str(course): frozenset(str(i) for i in ids) for course, ids in data.items()}


@dataclass(frozen=True)
class Quality:
    """Precision at 1 and 3 of the ranking, and precision/recall of what would be proposed."""

    courses: int
    pairs: int
    precision_at_1: float
    precision_at_3: float
    precision_at_3_ceiling: float
    proposed: int
    proposed_precision: float
    recall: float


def evaluate(ranking: Ranking, proposed: Sequence[Suggestion], labels: Labels) -> Quality:
    """Compare a ranking and the proposals chosen from it with the labelled pairs."""
    courses = [c for c in labels if c in ranking.by_course]
    p1 = p3 = ceiling = 0.0
    for course in courses:
        wanted = labels[course]
        top = [s.competency for s in ranking.by_course[course][:3]]
        p1 += 1.0 if top[:1] and top[0] in wanted else 0.0
        p3 += len(set(top) & wanted) / 3
        ceiling += min(len(wanted), 3) / 3
    hits = [s for s in proposed if s.competency in labels.get(s.course, frozenset())]
    pairs = sum(len(labels[c]) for c in courses)
    n = max(len(courses), 1)
    return Quality(
        courses=len(courses), pairs=pairs, precision_at_1=p1 / n, precision_at_3=p3 / n,
        precision_at_3_ceiling=ceiling / n, proposed=len(proposed),
        proposed_precision=len(hits) / len(proposed) if proposed else 0.0,
        recall=len(hits) / pairs if pairs else 0.0)


@dataclass(frozen=True)
class ThresholdAdvice:
    """The threshold that best separates accepted from rejected suggestions so far."""

    threshold: float
    accepted: int
    rejected: int
    precision: float
    recall: float
    f1: float


def tune_threshold(decisions: Sequence[tuple[float, bool]],
                   current: float) -> ThresholdAdvice | None:
    """Pick the score threshold with the best F1 on past decisions (score, accepted).

    Every distinct score is a candidate cut; ties are broken towards the higher threshold
    (fewer proposals for the same F1). Returns None without at least one accepted and one
    rejected decision: there is nothing to separate yet.
    """
    accepted = sum(1 for _, ok in decisions if ok)
    rejected = len(decisions) - accepted
    if not accepted or not rejected:
        return None
    best: ThresholdAdvice | None = None
    for cut in sorted({score for score, _ in decisions} | {current}):
        kept = [ok for score, ok in decisions if score >= cut]
        true_pos = sum(kept)
        precision = true_pos / len(kept) if kept else 0.0
        recall = true_pos / accepted
        f1 = 2 * precision * recall / (precision + recall) if true_pos else 0.0
        if best is None or f1 >= best.f1:
            best = ThresholdAdvice(round(cut, 4), accepted, rejected, round(precision, 3),
                                   round(recall, 3), round(f1, 3))
    return best


def thresholds_by_framework(decisions: Mapping[str, Sequence[tuple[float, bool]]],
                            current: Mapping[str, float],
                            default: float) -> dict[str, ThresholdAdvice | None]:
    """:func:`tune_threshold` for each framework's decisions."""
    return {fw: tune_threshold(rows, current.get(fw, default))
            for fw, rows in sorted(decisions.items())}
