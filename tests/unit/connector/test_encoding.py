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
