"""Suggest, decide, remember: the human half of the skills map.

``suggest`` stores proposals (pending) with score and evidence, leaving out pairs already
linked in Moodle, already in the mapping file, or decided before (a rejected pair is never
proposed again). ``decide`` records a person's accept or reject, writes accepted links into
the mapping file and appends the decision to the audit log. Nothing here writes to the LMS:
accepted links reach it through ``sidecar map apply`` like every other line of the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

import store
from connector.moodle.client import MoodleClient
from skills_map.catalogue import CatalogueSource, MoodleCatalogue
from skills_map.errors import SkillsMapError
from skills_map.mapfile import NewLink, add_links
from skills_map.mapping import Outcome, read_mapping
from skills_map.quality import ThresholdAdvice, thresholds_by_framework
from skills_map.suggest import Method, Suggestion, rank, select

AUTO_ACTOR = "auto-accept"


@dataclass(frozen=True)
class SuggestOptions:
    """How suggestions are chosen and whether any are accepted without a person."""

    default_threshold: float = 0.15
    thresholds: Mapping[str, float] = field(default_factory=dict)
    top_k: int = 3
    method: Method = "tfidf"
    auto_accept: bool = False
    auto_accept_threshold: float = 0.5


@dataclass(frozen=True)
class SuggestResult:
    """What was proposed and accepted, by which method; ``notes`` say what the suggestions
    had to do without (course tags a site does not give, for one)."""

    proposed: list[Suggestion]
    auto_accepted: list[Suggestion]
    method: str
    notes: tuple[str, ...] = ()


def suggest(lms: CatalogueSource | MoodleClient, engine: Engine, site: str,
            mapping_file: Path | None, options: SuggestOptions,
            frameworks: Sequence[str] = ()) -> SuggestResult:
    """Compute suggestions for every course and store them as pending.

    ``lms`` is the site's catalogue source (a Moodle client stands for Moodle's).

    Raises:
        MappingError: the mapping file has problems (fix it first: it decides what is new).
        LmsError: the LMS could not be read.
    """
    source = MoodleCatalogue(lms) if isinstance(lms, MoodleClient) else lms
    catalogue = source.catalogue(frameworks, with_tags=True)
    links = source.links(catalogue)
    exclude: set[tuple[str, str, str]] = set()
    for course_id, rows in links.items():
        course = catalogue.course_by_id(course_id)
        for row in rows:
            exclude.add((course.shortname if course else "", catalogue.framework_of(
                row.competency), row.competency.idnumber))
    if mapping_file is not None and mapping_file.exists():
        for link in read_mapping(mapping_file).links:
            course = catalogue.course(link.course)
            for fw, comp in catalogue.matches(link.competency, link.framework):
                exclude.add((course.shortname if course else link.course, fw, comp.idnumber))
    sessions = store.session_factory(engine)
    with store.session_scope(sessions) as session:
        exclude |= {(r.course, r.framework, r.competency)
                    for r in store.list_suggestions(session, site) if r.status != "pending"}
    ranking = rank(catalogue.course_docs(), catalogue.competency_docs(), method=options.method)
    chosen = select(ranking, thresholds=options.thresholds,
                    default_threshold=options.default_threshold, top_k=options.top_k,
                    exclude=exclude)
    auto = [s for s in chosen
            if options.auto_accept and s.score >= options.auto_accept_threshold]
    with store.session_scope(sessions) as session:
        for s in chosen:
            saved = store.save_suggestion(
                session, site=site, course=s.course, course_id=s.course_id,
                framework=s.framework, competency=s.competency, competency_id=s.competency_id,
                competency_name=s.competency_name, score=s.score, evidence=s.evidence,
                method=ranking.method)
            if s in auto:
                _decide_row(session, saved, "accepted", AUTO_ACTOR, None,
                            f"score {s.score:.2f} >= auto-accept threshold "
                            f"{options.auto_accept_threshold:.2f}")
    if auto:
        _write_accepted(mapping_file, [NewLink(s.course, s.framework, s.competency,
                                               Outcome.EVIDENCE) for s in auto])
    return SuggestResult([s for s in chosen if s not in auto], auto, ranking.method,
                         catalogue.notes)


def pending(engine: Engine, site: str) -> list[store.MapSuggestion]:
    """The suggestions waiting for a person, best first within each course."""
    with store.session_scope(store.session_factory(engine)) as session:
        return store.list_suggestions(session, site, "pending")


def decide(engine: Engine, site: str, suggestion_id: int, decision: str, *, actor: str,
           mapping_file: Path | None, outcome: Outcome | None = None) -> store.MapSuggestion:
    """Accept or reject one pending suggestion; accepted ones go into the mapping file.

    Raises:
        SkillsMapError: no such pending suggestion, an unknown decision, or no mapping file
            to write an accepted link into.
    """
    if decision not in ("accepted", "rejected"):
        raise SkillsMapError(f"unknown decision {decision!r}; expected accepted or rejected")
    with store.session_scope(store.session_factory(engine)) as session:
        row = session.get(store.MapSuggestion, suggestion_id)
        if row is None or row.site != site:
            raise SkillsMapError(f"no suggestion {suggestion_id} for {site}")
        if row.status != "pending":
            raise SkillsMapError(f"suggestion {suggestion_id} was already {row.status} by "
                                 f"{row.decided_by}")
        if decision == "accepted":
            _write_accepted(mapping_file, [NewLink(row.course, row.framework, row.competency,
                                                   outcome or Outcome(row.outcome))])
        _decide_row(session, row, decision, actor, outcome, "")
        return row


def _write_accepted(mapping_file: Path | None, links: list[NewLink]) -> None:
    if mapping_file is None:
        raise SkillsMapError("accepted links go into the mapping file: set "
                             "skills_map.mapping_file in the config or give --mapping FILE")
    add_links(mapping_file, links)


def _decide_row(session: Session, row: store.MapSuggestion, decision: str, actor: str,
                outcome: Outcome | None, why: str) -> None:
    store.decide_suggestion(session, row, decision, actor=actor,
                            outcome=int(outcome) if outcome is not None else None)
    detail: dict[str, object] = {"course": row.course, "framework": row.framework,
                                 "competency": row.competency, "evidence": list(row.evidence),
                                 "method": row.method,
                                 "outcome": Outcome(row.outcome).label}
    if why:
        detail["why"] = why
    store.append_audit(session, site=row.site, actor=actor, action=f"suggestion.{decision}",
                       subject=f"{row.course} -> {row.framework}/{row.competency}",
                       suggestion_id=row.id, score=row.score, detail=detail)


def threshold_advice(engine: Engine, site: str,
                     options: SuggestOptions) -> dict[str, ThresholdAdvice | None]:
    """Per framework, the threshold that best separates what people accepted from what they
    rejected (automatic acceptances are left out: they would only confirm the threshold)."""
    decisions: dict[str, list[tuple[float, bool]]] = {}
    with store.session_scope(store.session_factory(engine)) as session:
        for row in store.list_suggestions(session, site):
            if row.status != "pending" and row.decided_by != AUTO_ACTOR:
                decisions.setdefault(row.framework, []).append(
                    (row.score, row.status == "accepted"))
    return thresholds_by_framework(decisions, options.thresholds, options.default_threshold)
