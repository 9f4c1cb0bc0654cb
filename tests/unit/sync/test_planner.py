"""The planner: what a plan holds for a new, an unchanged and an edited framework."""

import dataclasses

import pytest

from sync.model import Competency
from sync.plan import (
    CreateCompetency,
    CreateFramework,
    MissingCompetency,
    MoveCompetency,
    Plan,
    RelateCompetencies,
    ReorderChildren,
    UpdateCompetency,
    UpdateFramework,
)
from sync.planner import PlanOptions, plan_frameworks
from sync.sources import read_source
from tests.conftest import REPO, SAMPLES
from tests.unit.sync.moodle_state import held, replace_row

SITE = "https://moodle.example.org"


@pytest.fixture(scope="module")
def leadership():
    return read_source(REPO / "examples/frameworks/leadership-feedback.yaml")[0]


@pytest.fixture(scope="module")
def oecd():
    return read_source(SAMPLES / "oecd-core-competencies.moodle.csv")[0]


def plan(fw, actual, made=None, **options):
    """Plan ``fw`` against ``actual``; relations count as made when Moodle holds the tree."""
    if made is None:
        made = fw.related_pairs() if actual is not None else frozenset()
    return plan_frameworks([fw], {fw.idnumber: actual}, site=SITE,
                           options=PlanOptions(**options), related={fw.idnumber: made})


def test_new_framework_creates_parents_before_children(oecd):
    result = plan(oecd, None)
    assert isinstance(result.ops[0], CreateFramework)
    creates = [op for op in result.ops if isinstance(op, CreateCompetency)]
    assert len(creates) == 64
    position = {op.idnumber: n for n, op in enumerate(creates)}
    for op in creates:
        if op.parent:
            assert position[op.parent] < position[op.idnumber]
            assert op.stage > next(o.stage for o in creates if o.idnumber == op.parent)
    assert result.ops[0].values["scaleid"] == 2
    assert not [op for op in result.ops if isinstance(op, ReorderChildren)]


def test_rules_are_set_after_every_create(leadership):
    result = plan(leadership, None)
    rules = [op for op in result.ops if isinstance(op, UpdateCompetency)]
    assert {op.idnumber for op in rules} >= {"LF-FEEDBACK", "LF-FEEDBACK-GIVE"}
    last_create = max(op.stage for op in result.ops if isinstance(op, CreateCompetency))
    assert all(op.stage > last_create for op in rules)


@pytest.mark.parametrize("name", ["oecd", "leadership"])
def test_what_moodle_holds_after_a_faithful_apply_plans_nothing(name, request):
    fw = request.getfixturevalue(name)
    result = plan(fw, held(fw))
    assert result.is_empty, [op.op_id for op in result.changes]


def test_html_cleaning_and_ampersand_escaping_are_not_changes(leadership):
    actual = held(leadership)
    first = actual.competencies[0]
    cleaned = replace_row(actual, first.idnumber,
                          description=first.description.replace("</p>", "</p>\n"))
    assert plan(leadership, cleaned).is_empty


def test_edited_name_is_an_update_with_before_and_after(leadership):
    actual = replace_row(held(leadership), "LF-DELEGATE", shortname="Delegates tasks")
    [op] = plan(leadership, actual).changes
    assert isinstance(op, UpdateCompetency) and op.idnumber == "LF-DELEGATE"
    assert [(c.field, c.before, c.after) for c in op.changes] == [
        ("shortname", "Delegates tasks", "Delegates outcomes, not tasks")]


def test_framework_field_changes_are_updates(leadership):
    actual = held(leadership)
    actual = dataclasses.replace(actual, framework=actual.framework.model_copy(
        update={"visible": False, "taxonomies": "domain"}))
    [op] = plan(leadership, actual).changes
    assert isinstance(op, UpdateFramework)
    assert {c.field for c in op.changes} == {"visible", "taxonomies"}


def test_new_parent_in_source_is_a_move(leadership):
    ask = next(c for c in leadership.competencies if c.idnumber == "LF-FEEDBACK-ASK")
    rest = [c for c in leadership.competencies if c is not ask]
    wanted = dataclasses.replace(
        leadership, competencies=(*rest, dataclasses.replace(ask, parent="LF-DIRECTION")))
    ops = plan(wanted, held(leadership)).changes
    [move] = [op for op in ops if isinstance(op, MoveCompetency)]
    assert (move.before, move.after) == ("LF-FEEDBACK", "LF-DIRECTION")
    assert not [op for op in ops if isinstance(op, ReorderChildren)], \
        "a moved competency lands last, where the source put it"


def test_swapped_siblings_are_reordered(leadership):
    children = [c for c in leadership.competencies if c.parent == "LF-DIRECTION"]
    others = [c for c in leadership.competencies if c.parent != "LF-DIRECTION"]
    wanted = dataclasses.replace(leadership, competencies=tuple(others + children[::-1]))
    [op] = plan(wanted, held(leadership)).changes
    assert isinstance(op, ReorderChildren) and op.idnumber == "LF-DIRECTION"
    assert op.after == tuple(c.idnumber for c in children[::-1])


def test_new_child_is_created_at_the_end_without_reordering(leadership):
    extra = Competency("LF-NEW", "Coaches others", parent="LF-DIRECTION")
    wanted = dataclasses.replace(leadership, competencies=(*leadership.competencies, extra))
    [op] = plan(wanted, held(leadership)).changes
    assert isinstance(op, CreateCompetency) and op.parent == "LF-DIRECTION"


@pytest.mark.parametrize(("action", "writes"), [("leave", False), ("hide", False),
                                                 ("delete", True)])
def test_competency_gone_from_source_is_reported_and_deleted_only_when_asked(
        leadership, action, writes):
    gone = "LF-FEEDBACK-RECEIVE"
    wanted = dataclasses.replace(leadership, competencies=tuple(
        c for c in leadership.competencies if c.idnumber != gone))
    result = plan(wanted, held(leadership), on_missing=action)
    [missing] = [op for op in result.ops if isinstance(op, MissingCompetency)]
    assert missing.idnumber == gone
    assert (not result.is_empty) is writes
    if action == "hide":
        assert "cannot hide" in missing.reason


def test_deletes_run_deepest_first(leadership):
    wanted = dataclasses.replace(leadership, competencies=tuple(
        c for c in leadership.competencies if not c.idnumber.startswith("LF-FEEDBACK")))
    deletes = plan(wanted, held(leadership), on_missing="delete").changes
    order = [op.idnumber for op in sorted(deletes, key=lambda op: op.stage)]
    assert order.index("LF-FEEDBACK-GIVE-1") < order.index("LF-FEEDBACK-GIVE")
    assert order.index("LF-FEEDBACK-GIVE") < order.index("LF-FEEDBACK")


def test_plan_survives_a_json_round_trip(leadership):
    actual = replace_row(held(leadership), "LF-DELEGATE", shortname="Old")
    original = plan(leadership, actual)
    again = Plan.from_json(original.to_json())
    assert again == original
    assert again.basis[leadership.idnumber] == actual.fingerprint()


def test_fingerprint_changes_when_someone_edits_moodle(leadership):
    actual = held(leadership)
    edited = replace_row(actual, "LF-GOALS", timemodified=1)
    assert actual.fingerprint() != edited.fingerprint()


def test_a_file_that_is_not_a_plan_is_refused():
    with pytest.raises(ValueError, match="not a plan file"):
        Plan.from_json('{"ops": []}')


def test_cross_references_are_related_once_and_dropped_when_gone(leadership):
    first = plan(leadership, None)
    relate = [op for op in first.ops if isinstance(op, RelateCompetencies)]
    assert {op.pair for op in relate} == leadership.related_pairs()
    assert all(op.related for op in relate)
    assert max(o.stage for o in first.ops if isinstance(o, CreateCompetency)) < relate[0].stage
    extra = frozenset({("LF-COACH", "LF-GOALS")})
    [drop] = plan(leadership, held(leadership), made=leadership.related_pairs() | extra).changes
    assert isinstance(drop, RelateCompetencies) and not drop.related
    assert drop.pair == ("LF-COACH", "LF-GOALS")
