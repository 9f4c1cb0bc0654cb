"""Suggestion quality: precision@1, precision@3 and recall of the default method (TF-IDF)
on the sandbox catalogue (names, summaries and course tags) against the example frameworks,
with the hand-made labels in ``tests/data/skills-map-labels.yaml``. No LMS needed: the same
texts Moodle would return. ``run(tags=False)`` measures without the tags, as on a site whose
token's service lacks the tag functions."""

from __future__ import annotations

import time
from pathlib import Path

from bench.report import Figure, Report
from connector.sandbox.catalogue import COURSE_TAGS, COURSES
from skills_map.quality import evaluate, read_labels
from skills_map.suggest import CompetencyDoc, CourseDoc, rank, select
from sync.sources import read_source

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "tests" / "data" / "skills-map-labels.yaml"
FRAMEWORKS = REPO / "examples" / "frameworks"
THRESHOLD, TOP_K = 0.15, 3  # the defaults of skills_map in config/settings.py


def inputs(tags: bool = True) -> tuple[list[CourseDoc], list[CompetencyDoc]]:
    """The sandbox's courses (with their tags unless ``tags`` is false) and the example
    frameworks' competencies, as the engine sees them."""
    comps: list[CompetencyDoc] = []
    for path in sorted(FRAMEWORKS.glob("*.yaml")):
        for fw in read_source(path):
            names = {c.idnumber: c.shortname for c in fw.competencies}
            comps += [CompetencyDoc(len(comps) + 1, c.idnumber, fw.idnumber, c.shortname,
                                    c.description, names.get(c.parent or "", ""))
                      for c in fw.competencies]
    courses = [CourseDoc(i, short, full, summary, COURSE_TAGS.get(short, ()) if tags else ())
               for i, (_, short, full, summary) in enumerate(COURSES, 1)]
    return courses, comps


def run(quick: bool = False, tags: bool = True) -> Report:
    """Measure the quality figures; ``quick`` changes nothing (the set is small)."""
    courses, comps = inputs(tags)
    started = time.perf_counter()
    ranking = rank(courses, comps, method="tfidf")
    seconds = time.perf_counter() - started
    proposed = select(ranking, thresholds={}, default_threshold=THRESHOLD, top_k=TOP_K)
    quality = evaluate(ranking, proposed, read_labels(LABELS))
    report = Report("suggestions", "Skills-map suggestion quality (default method, TF-IDF)")
    report.settings = {
        "data": f"{quality.courses} sandbox courses x {len(comps)} competencies "
                f"(examples/frameworks), {quality.pairs} labelled pairs",
        "course text": "names, summaries and tags" if tags else "names and summaries (no tags)",
        "selection": f"threshold {THRESHOLD}, top {TOP_K} per course and framework",
    }
    case = "labelled set"
    # Quality is reported as miss rates, so that the report's "value <= limit" reads right.
    report.add(Figure(case, "top-1 miss (1 - precision@1)", round(1 - quality.precision_at_1,
                                                                   3), 0.10, "", 1.0))
    report.add(Figure(case, "precision@1", round(quality.precision_at_1, 3), 1, ""))
    report.add(Figure(case, "precision@3", round(quality.precision_at_3, 3), 1, ""))
    report.add(Figure(case, "precision@3 ceiling (labels per course)",
                      round(quality.precision_at_3_ceiling, 3), 1, ""))
    report.add(Figure(case, "labelled pairs missed (1 - recall)", round(1 - quality.recall, 3),
                      0.30, "", 1.0))
    report.add(Figure(case, "recall", round(quality.recall, 3), 1, ""))
    report.add(Figure(case, "precision of proposals", round(quality.proposed_precision, 3), 1,
                      ""))
    report.add(Figure(case, "ranking time", round(seconds, 3), 2.0, "s", 1.0))
    report.notes.append(f"{quality.proposed} proposals; precision@3 cannot exceed the ceiling "
                        "because most courses have one labelled competency")
    return report
