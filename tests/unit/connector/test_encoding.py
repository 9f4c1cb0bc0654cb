from collections.abc import Iterator, Mapping
from enum import Enum, IntEnum

import pytest

from connector.moodle.encoding import count_fields, flatten, split_batches


def test_nested_lists_and_dicts_flatten_recursively_in_order():
    params = {"a": [{"b": [1, {"c": "v"}]}], "flag": True, "off": False, "skip": None}
    assert flatten(params) == [
        ("a[0][b][0]", "1"),
        ("a[0][b][1][c]", "v"),
        ("flag", "1"),
        ("off", "0"),
    ]


def test_recorded_framework_form_is_reproduced_exactly():
    from tests.conftest import exchange

    rec = exchange("15_core_competency_create_competency_framework_contextlevel")
    fields = [p for p in rec.params if p[0].startswith("competencyframework")]
    nested: dict[str, dict[str, str]] = {"competencyframework": {}}
    for key, value in fields:
        nested["competencyframework"][key.split("[")[1].rstrip("]")] = value
    assert flatten(nested) == fields


def test_count_includes_the_three_protocol_fields():
    assert count_fields({}) == 3
    assert count_fields({"values": list(range(10))}) == 13


def test_batches_stay_under_max_input_vars_counting_every_variable():
    items = [{"roleid": 5, "userid": i, "courseid": 2} for i in range(1000)]
    batches = split_batches({"enrolments": items, "x": 1}, "enrolments", 1000)
    for batch in batches:
        assert count_fields(batch) <= 1000
    assert [i for b in batches for i in b["enrolments"]] == items  # nothing lost, order kept
    assert len(batches) == 4  # 996 variables left per request, 3 per item -> 332 items


def test_everything_fits_in_one_batch_and_empty_list_still_calls_once():
    assert len(split_batches({"values": [1, 2]}, "values", 1000)) == 1
    assert split_batches({"values": []}, "values", 1000) == [{"values": []}]


def test_item_too_large_for_any_batch_is_refused():
    with pytest.raises(ValueError, match="more than the"):
        split_batches({"values": [{"k": list(range(50))}]}, "values", 20)


class _Colour(str, Enum):  # noqa: UP042 - str() of this kind of member is not its value
    RED = "red"


class _Level(IntEnum):
    HIGH = 3


class _Frozen(Mapping[str, object]):
    """A Mapping that is not a dict: takes the general path."""

    def __init__(self, **items: object) -> None:
        self._items = items

    def __getitem__(self, key: str) -> object:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


MIXED = {"s": "x", "i": 7, "b": True, "f": 2.0, "g": 2.5, "e": _Colour.RED, "n": _Level.HIGH,
         "none": None, "t": ("a", None, [1, {"k": False}]), "m": _Frozen(a=1, b=None, c=[2]),
         "empty": [], "d": {"x": {"y": None, "z": "w"}}}


def test_every_kind_of_value_flattens_as_moodle_reads_it():
    assert flatten(MIXED) == [
        ("s", "x"), ("i", "7"), ("b", "1"), ("f", "2"), ("g", "2.5"), ("e", "red"),
        ("n", "3"), ("t[0]", "a"), ("t[2][0]", "1"), ("t[2][1][k]", "0"), ("m[a]", "1"),
        ("m[c][0]", "2"), ("d[x][z]", "w"),
    ]


@pytest.mark.parametrize("key", list(MIXED))
def test_the_count_is_the_number_of_fields_flatten_makes(key: str):
    params = {key: MIXED[key]}
    assert count_fields(params) == 3 + len(flatten(params))
    batches = split_batches({"items": [MIXED[key], MIXED], "o": 1}, "items", 1000)
    assert batches == [{"o": 1, "items": [MIXED[key], MIXED]}]


def test_a_batch_is_cut_where_the_next_item_would_pass_the_limit():
    items = [{"a": 1, "b": None, "c": ["x", "y"]}, {"a": 2}, {"a": 3, "c": ("z",)}]
    # 3 protocol fields + "o" leave 2 under 6; the items cost 3, 1 and 2 fields
    with pytest.raises(ValueError, match="needs 3 form variables"):
        split_batches({"items": items, "o": 1}, "items", 6)
    assert split_batches({"items": items, "o": 1}, "items", 7) == [
        {"o": 1, "items": items[:1]}, {"o": 1, "items": items[1:]}]
