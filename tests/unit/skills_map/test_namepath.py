"""Finding competencies by name path: exact and unique matches only, every other case
reported with its reason and nothing guessed."""

from __future__ import annotations

from skills_map.namepath import ExportedCompetency, SiteNode, find_framework, resolve

FW = [SiteNode(5, "Work skills"), SiteNode(6, "Leadership &amp; feedback")]
EXPORTED = [
    ExportedCompetency("WS", "Work skills", "WS-COMM", "Communication"),
    ExportedCompetency("WS", "Work skills", "WS-COMM-FB", "Giving feedback", "WS-COMM"),
    ExportedCompetency("WS", "Work skills", "WS-TEAM", "Teamwork"),
    ExportedCompetency("WS", "Work skills", "WS-TEAM-FB", "Giving feedback", "WS-TEAM"),
]


def site(*nodes: SiteNode) -> dict[int, list[SiteNode]]:
    return {5: list(nodes)}


def test_each_competency_is_found_under_its_own_parent_even_when_names_repeat_elsewhere():
    found = resolve(EXPORTED, {"WS": 5}, site(
        SiteNode(10, "Communication"), SiteNode(11, "Giving feedback", 10),
        SiteNode(20, "Teamwork"), SiteNode(21, "Giving feedback", 20)))
    assert found.ids == {("WS", "WS-COMM"): 10, ("WS", "WS-COMM-FB"): 11,
                         ("WS", "WS-TEAM"): 20, ("WS", "WS-TEAM-FB"): 21}
    assert found.problems == {}


def test_a_name_missing_on_the_site_is_reported_as_maybe_renamed_and_its_children_too():
    found = resolve(EXPORTED, {"WS": 5}, site(
        SiteNode(10, "Communication skills"), SiteNode(11, "Giving feedback", 10),
        SiteNode(20, "Teamwork"), SiteNode(21, "Giving feedback", 20)))
    assert ("WS", "WS-COMM") not in found.ids and ("WS", "WS-COMM-FB") not in found.ids
    assert "no competency named 'Communication' at the top" in found.problems[("WS", "WS-COMM")]
    assert "renamed" in found.problems[("WS", "WS-COMM")]
    assert "parent 'WS-COMM' was not found" in found.problems[("WS", "WS-COMM-FB")]
    assert found.ids[("WS", "WS-TEAM-FB")] == 21  # the other branch is unaffected


def test_two_siblings_with_the_same_name_resolve_to_neither():
    found = resolve(EXPORTED, {"WS": 5}, site(
        SiteNode(10, "Communication"), SiteNode(20, "Teamwork"),
        SiteNode(21, "Giving feedback", 20), SiteNode(22, "Giving feedback", 20)))
    assert ("WS", "WS-TEAM-FB") not in found.ids
    assert "2 competencies are named 'Giving feedback' under 'WS-TEAM'" in found.problems[
        ("WS", "WS-TEAM-FB")]
    assert "duplicate names" in found.problems[("WS", "WS-TEAM-FB")]


def test_a_competency_moved_under_another_parent_on_the_site_is_not_found():
    found = resolve(EXPORTED[:2], {"WS": 5}, site(
        SiteNode(10, "Communication"), SiteNode(30, "Other"),
        SiteNode(11, "Giving feedback", 30)))
    assert ("WS", "WS-COMM-FB") not in found.ids
    assert "under 'WS-COMM'" in found.problems[("WS", "WS-COMM-FB")]


def test_names_are_compared_after_undoing_the_sites_html_escaping_only():
    assert find_framework("Leadership & feedback", FW) == 6
    assert isinstance(find_framework("leadership & feedback", FW), str)  # case counts


def test_a_framework_missing_or_named_twice_leaves_its_competencies_unresolved():
    assert "no framework named 'Sales'" in str(find_framework("Sales", FW))
    twice = [SiteNode(5, "Work skills"), SiteNode(7, "Work skills")]
    reason = find_framework("Work skills", twice)
    assert reason == "2 frameworks are named 'Work skills' on the site (duplicate names)"
    found = resolve(EXPORTED, {"WS": reason}, {})
    assert found.ids == {}
    assert all("duplicate names" in why for why in found.problems.values())
