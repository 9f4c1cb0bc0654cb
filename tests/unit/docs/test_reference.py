"""The generated reference pages match the code, and cover everything the code uses."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from config import Settings
from config.errors import model_at
from connector.moodle import endpoints as ep
from connector.moodle.functions import REQUIREMENTS, requirements_for
from connector.totara.operations import OPERATIONS
from sidecar import docs

REPO = Path(__file__).resolve().parents[3]


def _page(name: str) -> str:
    return (REPO / "docs" / "reference" / name).read_text(encoding="utf-8")


def test_committed_pages_are_what_the_generator_writes():
    stale = docs.stale_pages()
    assert stale == [], f"{stale} differ from the code: run `python -m sidecar.docs` and commit"
    assert docs.main(["--check"]) == 0


def test_every_function_the_client_calls_is_documented():
    page = _page("functions.md")
    missing = [e.function for e in ep.ALL if f"`{e.function}`" not in page]
    assert missing == []


def test_the_documented_list_is_the_one_check_compares():
    page = _page("functions.md")
    every = {r.function for r in requirements_for(["frameworks", "skills_map", "goals",
                                                   "followups"])}
    assert every == {r.function for r in REQUIREMENTS}
    assert all(f"`{name}`" in page for name in every)


def _keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, info in model.model_fields.items():
        key = (*prefix, info.alias or name)
        found.append(".".join(key))
        section = model_at(model, (name,))
        if section is not None:
            found += _keys(section, key)
    return found


def test_every_config_key_is_in_the_reference_with_its_variable():
    page = _page("config.md")
    keys = _keys(Settings)
    assert len(keys) > 100
    assert [k for k in keys if f"`{k}`" not in page] == []
    assert "`SIDECAR_WEBHOOKS__TOOL_TRIGGER__SECRETS`" in page
    assert "`json: false`" in page  # the alias a YAML file uses, not the Python name


def test_every_totara_operation_is_listed():
    page = _page("totara-operations.md")
    assert [name for name in OPERATIONS if f"`{name}`" not in page] == []


def test_a_changed_description_makes_the_page_stale(tmp_path, monkeypatch):
    for path in docs.PAGES:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    assert docs.write_pages(tmp_path) == list(docs.PAGES)
    assert docs.stale_pages(tmp_path) == []
    monkeypatch.setitem(docs.PAGES, "docs/reference/functions.md", lambda: "changed\n")
    assert docs.stale_pages(tmp_path) == ["docs/reference/functions.md"]


def test_every_metric_is_in_the_metrics_reference():
    from sidecar import metrics

    page = (REPO / "docs" / "logs-and-metrics.md").read_text(encoding="utf-8")
    names = [f"{name}_total" for name in metrics._COUNTER_HELP]
    names += [gauge.name for gauge in metrics.GAUGES]
    assert [n for n in names if f"`{n}`" not in page] == []
