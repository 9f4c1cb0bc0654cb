"""Course tags in suggestions: they add to the score like the summary, never form phrases
with each other, and the evidence names the tags that matched."""

from __future__ import annotations

from skills_map.suggest import CompetencyDoc, CourseDoc, rank
from skills_map.text import SEGMENT, Analyzer

COMPETENCIES = [
    CompetencyDoc(1, "NEG", "FW", "Negotiates agreements", "Finds interests behind positions."),
    CompetencyDoc(2, "PRES", "FW", "Presents ideas", "Speaks to groups with clear slides."),
    CompetencyDoc(3, "SAFE", "FW", "Lifts safely", "Manual handling of loads."),
]


def test_a_tag_decides_when_name_and_summary_say_nothing():
    bare = CourseDoc(1, "X-1", "Tuesday session", "A morning with colleagues.")
    tagged = CourseDoc(1, "X-1", "Tuesday session", "A morning with colleagues.",
                       ("negotiation", "agreements"))
    assert rank([bare], COMPETENCIES).by_course["X-1"] == []
    [best, *_] = rank([tagged], COMPETENCIES).by_course["X-1"]
    assert best.competency == "NEG"
    assert best.evidence[:2] == ("tag: negotiation", "tag: agreements")


def test_evidence_names_only_tags_whose_every_word_matched_and_does_not_repeat_them():
    course = CourseDoc(1, "S-1", "Moving boxes", "", ("manual handling", "warehouse safety"))
    [best] = rank([course], COMPETENCIES).by_course["S-1"]
    assert best.competency == "SAFE"
    assert "tag: manual handling" in best.evidence
    assert "tag: warehouse safety" not in best.evidence  # "warehouse" is not in the competency
    assert "manual handling" not in best.evidence  # shown once, as the tag


def test_two_tags_side_by_side_are_not_a_phrase():
    terms = Analyzer()(f"ethics{SEGMENT}compliance")
    assert "ethic complianc" not in terms and {"ethic", "complianc"} <= set(terms)
