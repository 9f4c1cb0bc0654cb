"""Frameworks for Totara: HR Import rows, the plan against the last export, the atomic file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import store
from connector.totara.hrimport import (
    COLUMNS,
    CompetencyRow,
    HrImportError,
    render_csv,
    write_competency_file,
)
from sync.hrimport import HrImportSync, plan_export
from sync.model import Competency, Framework


def framework(*competencies: Competency) -> Framework:
    return Framework(idnumber="FW", shortname="Skills", competencies=competencies)


TREE = (Competency("A", "Alpha", description="<p>a</p>"), Competency("A1", "Alpha one",
                                                                      parent="A"))


def test_first_export_creates_every_row_parents_first():
    plan = plan_export([framework(*TREE)], {}, site="s", on_missing="leave", now=100)
    assert [(c.action, c.row.idnumber, c.row.parentidnumber) for c in plan.changes] == [
        ("create", "A", ""), ("create", "A1", "A")]
    assert plan.rows[0] == CompetencyRow("A", "Alpha", "FW", description="<p>a</p>",
                                         timemodified=100)
    assert not plan.is_empty


def test_unchanged_rows_keep_their_timemodified_and_changes_show_before_and_after():
    first = plan_export([framework(*TREE)], {}, site="s", on_missing="leave", now=100)
    last = {(r.frameworkidnumber, r.idnumber): r for r in first.rows}
    same = plan_export([framework(*TREE)], last, site="s", on_missing="leave", now=200)
    assert same.is_empty and [r.timemodified for r in same.rows] == [100, 100]
    renamed = framework(Competency("A", "Alpha!", description="<p>a</p>"), TREE[1])
    plan = plan_export([renamed], last, site="s", on_missing="leave", now=200)
    update = plan.changes[0]
    assert (update.action, update.changed, update.row.timemodified) == ("update", ("fullname",),
                                                                        200)
    assert "fullname: 'Alpha' → 'Alpha!'" in plan.render()


@pytest.mark.parametrize(("on_missing", "action", "deleted"), [
    ("leave", "missing", False), ("hide", "missing", False), ("delete", "delete", True)])
def test_a_competency_gone_from_the_source_is_kept_unless_delete_is_asked(on_missing, action,
                                                                           deleted):
    first = plan_export([framework(*TREE)], {}, site="s", on_missing="leave", now=100)
    last = {(r.frameworkidnumber, r.idnumber): r for r in first.rows}
    plan = plan_export([framework(TREE[0])], last, site="s", on_missing=on_missing, now=200)
    gone = plan.changes[-1]
    assert (gone.action, gone.row.idnumber, gone.row.deleted) == (action, "A1", deleted)
    assert len(plan.rows) == 2  # still in the file either way: never deleted silently


def test_the_csv_has_the_contracts_columns():
    text = render_csv([CompetencyRow("A", "Alpha, \"quoted\"", "FW", deleted=True,
                                     timemodified=5)])
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == COLUMNS == ("idnumber", "fullname", "shortname", "deleted",
                                         "description", "frameworkidnumber", "parentidnumber",
                                         "typeidnumber", "timemodified")
    assert rows[1] == ["A", "Alpha, \"quoted\"", "", "1", "", "FW", "", "", "5"]


def test_the_file_is_written_atomically_and_replaces_the_last_one(tmp_path: Path):
    path = write_competency_file(tmp_path, "competency.csv", [CompetencyRow("A", "a", "FW")])
    write_competency_file(tmp_path, "competency.csv", [CompetencyRow("B", "b", "FW")])
    assert [p.name for p in tmp_path.iterdir()] == ["competency.csv"]  # no temp file left
    assert "B,b" in path.read_text()


def test_a_missing_folder_says_what_to_set(tmp_path: Path):
    with pytest.raises(HrImportError, match=r"totara\.hr_import_dir"):
        write_competency_file(tmp_path / "nope", "competency.csv", [])


def test_apply_records_the_export_and_the_next_plan_is_empty(tmp_path: Path):
    source = tmp_path / "fw.yaml"
    source.write_text("idnumber: FW\nshortname: Skills\nscale:\n  values: [No, Yes]\n"
                      "  moodle_id: 2\n  default: No\n  proficient: [Yes]\ncompetencies:\n"
                      "  - idnumber: A\n    shortname: Alpha\n")
    (tmp_path / "hr").mkdir()
    engine = store.create_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.migrate(engine)
    job = HrImportSync(engine=engine, site="https://t", sources=(source,),
                       directory=tmp_path / "hr", clock=lambda: 1000.0)
    exported = job.apply()
    assert exported.path == tmp_path / "hr" / "competency.csv"
    assert job.plan().is_empty
    with pytest.raises(HrImportError):
        HrImportSync(engine=engine, site="https://t", sources=(source,),
                     directory=tmp_path / "gone").apply()
    with store.session_scope(store.session_factory(engine)) as session:
        statuses = [r.status for r in store.recent_runs(session, 5, kind="hr_import")]
    assert statuses == ["failed", "succeeded"]
    engine.dispose()
