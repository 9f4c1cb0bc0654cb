"""The link planner: add, re-outcome, remove only our links, leave others' alone."""

from __future__ import annotations

from skills_map.catalogue import Catalogue, WantedLink
from skills_map.links import (
    ForeignLink,
    LinkCourseCompetency,
    SetLinkOutcome,
    UnlinkCourseCompetency,
    link_key,
    plan_links,
)
from skills_map.mapping import Outcome
from sync.plan import Plan

from .conftest import link


def wanted(catalogue: Catalogue, course_id: int, comp_id: int,
           outcome: Outcome = Outcome.EVIDENCE) -> WantedLink:
    course = catalogue.course_by_id(course_id)
    fw, comp = next((fw, c) for fw, rows in catalogue.competencies.items() for c in rows
                    if c.id == comp_id)
    assert course is not None
    return WantedLink(course.shortname, course_id, fw, comp.idnumber, comp_id, outcome, 1)


def comp(catalogue: Catalogue, comp_id: int):
    return next(c for rows in catalogue.competencies.values() for c in rows if c.id == comp_id)


def test_new_links_are_planned_with_their_outcome(catalogue: Catalogue):
    plan = plan_links([wanted(catalogue, 101, 2, Outcome.COMPLETE)], {101: []}, set(),
                      catalogue, site="s")

    [op] = plan.changes
    assert isinstance(op, LinkCourseCompetency)
    assert (op.course, op.competency, op.framework, op.outcome) == (
        "COMM-160", "COMM-WRITE", "SKILLS", 3)


def test_a_link_that_matches_is_no_change(catalogue: Catalogue):
    actual = {101: [link(101, comp(catalogue, 2), 7, outcome=3)]}
    plan = plan_links([wanted(catalogue, 101, 2, Outcome.COMPLETE)], actual, set(),
                      catalogue, site="s")
    assert plan.is_empty and plan.ops == ()


def test_another_outcome_changes_the_existing_link_by_its_link_id(catalogue: Catalogue):
    actual = {101: [link(101, comp(catalogue, 2), 7, outcome=1)]}
    plan = plan_links([wanted(catalogue, 101, 2, Outcome.RECOMMEND)], actual, set(),
                      catalogue, site="s")
    [op] = plan.changes
    assert isinstance(op, SetLinkOutcome)
    assert (op.link_id, op.before, op.after) == (7, 1, 2)


def test_only_links_we_made_are_removed(catalogue: Catalogue):
    actual = {102: [link(102, comp(catalogue, 3), 8), link(102, comp(catalogue, 6), 9)]}
    ours = {link_key(102, 3)}
    plan = plan_links([], actual, ours, catalogue, site="s")

    [unlink] = plan.changes
    assert isinstance(unlink, UnlinkCourseCompetency) and unlink.competency == "COMM-LISTEN"
    [foreign] = [op for op in plan.ops if isinstance(op, ForeignLink)]
    assert foreign.competency == "SAFE-FIRE" and foreign.framework == "OTHER"
    assert "left alone" in foreign.reason


def test_link_plans_round_trip_as_json(catalogue: Catalogue):
    actual = {101: [link(101, comp(catalogue, 3), 8, outcome=1)], 102: []}
    plan = plan_links([wanted(catalogue, 101, 3, Outcome.NONE),
                       wanted(catalogue, 102, 2)], actual, set(), catalogue, site="s")

    again = Plan.from_json(plan.to_json())
    assert again.ops == plan.ops
    assert set(again.basis) == {"COMM-160", "COMM-220"}
    assert [type(op) for op in again.changes] == [SetLinkOutcome, LinkCourseCompetency]
