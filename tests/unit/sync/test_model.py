"""The framework model: tree helpers, equality, scale configuration."""

from __future__ import annotations

import json

import pytest

from sync.model import Competency, Framework, Scale, SourceLocation, normalise_points_config


def _framework(*competencies: Competency) -> Framework:
    return Framework("FW", "Framework", competencies=competencies)


TREE = _framework(
    Competency("A", "A"),
    Competency("B", "B"),
    Competency("A1", "A1", parent="A", related=("B",)),
    Competency("A2", "A2", parent="A"),
    Competency("A1x", "A1x", parent="A1"),
    Competency("B1", "B1", parent="B", related=("A",)),
)


def test_children_in_source_order() -> None:
    assert [c.idnumber for c in TREE.children_of(None)] == ["A", "B"]
    assert [c.idnumber for c in TREE.children_of("A")] == ["A1", "A2"]
    assert TREE.children_of("A2") == ()


def test_depth_counts_like_moodle_get_level() -> None:
    assert [TREE.depth(i) for i in ("A", "A1", "A1x", "B1")] == [1, 2, 3, 2]
    assert TREE.max_depth == 3


def test_depth_refuses_cycles() -> None:
    cyclic = _framework(Competency("X", "X", parent="Y"), Competency("Y", "Y", parent="X"))
    with pytest.raises(ValueError, match="cycle"):
        cyclic.depth("X")


def test_iteration_puts_parents_before_children() -> None:
    assert [c.idnumber for c in TREE.iter_tree()] == ["A", "A1", "A1x", "A2", "B", "B1"]
    assert [[c.idnumber for c in level] for level in TREE.levels()] == [
        ["A", "B"],
        ["A1", "A2", "B1"],
        ["A1x"],
    ]


def test_related_pairs_are_unordered() -> None:
    assert TREE.related_pairs() == {("A1", "B"), ("A", "B1")}


def test_equality_ignores_interleaving_and_locations_but_not_sibling_order() -> None:
    shuffled = _framework(*(TREE.competencies[i] for i in (0, 2, 4, 3, 1, 5)))
    assert shuffled == TREE
    assert hash(shuffled) == hash(TREE)
    moved = _framework(
        *(
            Competency(
                c.idnumber,
                c.shortname,
                parent=c.parent,
                related=c.related,
                location=SourceLocation("other.yaml", 9),
            )
            for c in TREE.competencies
        )
    )
    assert moved == TREE
    swapped = _framework(*(TREE.competencies[i] for i in (0, 1, 3, 2, 4, 5)))
    assert swapped != TREE


def test_taxonomy_falls_back_to_competency() -> None:
    framework = Framework("F", "F", taxonomies=("domain", ""))
    assert [framework.taxonomy(n) for n in (1, 2, 3)] == ["domain", "competency", "competency"]


def test_scale_configuration_round_trips_moodle_json() -> None:
    text = (
        '[{"scaleid":"2"},{"id":1,"scaledefault":1,"proficient":0},'
        '{"id":2,"scaledefault":0,"proficient":1}]'
    )
    scale = Scale.from_configuration(text, ("No", "Yes"))
    assert scale == Scale(("No", "Yes"), 2, default=1, proficient=(2,))
    assert json.loads(scale.configuration()) == json.loads(text)
    assert json.loads(scale.configuration(7))[0] == {"scaleid": "7"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("{}", "JSON list"),
        ('[{"x":1}]', "no scaleid"),
        ('[{"scaleid":2},{"id":"a"}]', "integer ids"),
    ],
)
def test_scale_configuration_errors_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Scale.from_configuration(text)


def test_points_config_is_canonical() -> None:
    loose = (
        '{"competencies": [{"id": "A", "points": "2", "required": true}], "base": {"points": 1}}'
    )
    assert normalise_points_config(loose) == (
        '{"base":{"points":1},"competencies":[{"id":"A","points":2,"required":1}]}'
    )
    assert normalise_points_config("nonsense") == "nonsense"
