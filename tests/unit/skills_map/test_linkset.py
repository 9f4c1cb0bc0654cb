"""Replace-all course links: the plan keeps links others made, removes only links
lms-sidecar made, and each write sends the current list with just the op's change."""

from __future__ import annotations

from skills_map.links import (
    ForeignLink,
    LinkCourseCompetency,
    SetLinkOutcome,
    UnlinkCourseCompetency,
    link_key,
)
from skills_map.linkset import Names, SiteLink, WantedSiteLink, merged, plan_link_sets
from skills_map.mapping import Outcome

NAMES = Names({1: "COMM-101", 2: "LEAD-200", 3: "HAND-MADE"}, {7: ("WS", "WS-COMM")})


def wanted(course_id: int, outcome: Outcome = Outcome.EVIDENCE) -> WantedSiteLink:
    return WantedSiteLink(NAMES.course(course_id), course_id, "WS", "WS-COMM", 7, outcome, 3)


def test_a_new_link_is_planned_and_the_write_keeps_every_current_link():
    current = [SiteLink(3, True)]
    plan = plan_link_sets([wanted(1)], {7: current}, set(), NAMES, site="s")
    link = next(op for op in plan.ops if isinstance(op, LinkCourseCompetency))
    assert (link.course, link.competency) == ("COMM-101", "WS-COMM")
    assert merged(current, link) == [SiteLink(3, True), SiteLink(1, False)]
    foreign = next(op for op in plan.ops if isinstance(op, ForeignLink))
    assert foreign.course == "HAND-MADE" and not plan.is_empty


def test_only_links_lms_sidecar_made_are_removed_and_the_write_keeps_the_others():
    current = [SiteLink(2, False), SiteLink(3, False)]
    plan = plan_link_sets([], {7: current}, {link_key(2, 7)}, NAMES, site="s")
    kinds = {op.course: type(op) for op in plan.ops}
    assert kinds == {"LEAD-200": UnlinkCourseCompetency, "HAND-MADE": ForeignLink}
    unlink = next(op for op in plan.ops if isinstance(op, UnlinkCourseCompetency))
    assert merged(current, unlink) == [SiteLink(3, False)]


def test_complete_means_mandatory_and_a_change_of_it_is_planned():
    current = [SiteLink(1, False)]
    plan = plan_link_sets([wanted(1, Outcome.COMPLETE)], {7: current}, set(), NAMES, site="s")
    (op,) = plan.ops
    assert isinstance(op, SetLinkOutcome) and "mandatory no -> yes" in op.reason
    assert merged(current, op) == [SiteLink(1, True)]


def test_unchanged_input_plans_nothing_to_write():
    current = [SiteLink(1, False), SiteLink(2, True)]
    links = [wanted(1, Outcome.RECOMMEND), wanted(2, Outcome.COMPLETE)]
    plan = plan_link_sets(links, {7: current}, {link_key(1, 7), link_key(2, 7)}, NAMES,
                          site="s")
    assert plan.ops == () and plan.is_empty


def test_the_basis_changes_when_someone_edits_the_links():
    one = plan_link_sets([], {7: [SiteLink(1, False)]}, set(), NAMES, site="s")
    two = plan_link_sets([], {7: [SiteLink(1, True)]}, set(), NAMES, site="s")
    assert list(one.basis) == ["WS/WS-COMM#7"] and one.basis != two.basis
