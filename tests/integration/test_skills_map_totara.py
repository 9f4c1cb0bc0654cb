"""`sidecar map plan/apply` on the sandbox playing Totara 19: lms-sidecar's HR Import file is
imported by the site, competencies are found by their names, links are written with
totara_competency_set_linked_courses without dropping links others made, and every way the
site can refuse stops before anything is written, naming the function and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from connector.sandbox import SandboxServer, state_of
from connector.sandbox.totara.legacy import DROPS_UNDECLARED, FEATURE_CONFIG
from connector.sandbox.totara.site import TotaraSite
from sidecar.cli import cli

pytestmark = pytest.mark.integration
SECRET = "skills-map-client-secret-0123456789"
SOURCE = Path(__file__).resolve().parents[2] / "examples" / "frameworks" / "workplace-skills.yaml"
MAPPING = ("links:\n  - course: COMM-101\n    outcome: complete\n    competencies: "
           "[WS-COMM-FEEDBACK]\n  - course: COMM-120\n    competencies: [WS-COMM-DIFFICULT]\n")


@pytest.fixture(scope="module")
def totara():
    with SandboxServer(totara=TotaraSite(release="19", client_secret=SECRET)) as server:
        yield server


@pytest.fixture
def db(totara):
    totara.reset()
    return state_of(totara.app).db


@pytest.fixture
def sidecar(totara, db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Runs `sidecar ...` against the sandbox with a Totara config; returns the result."""
    for name in [n for n in __import__("os").environ if n.startswith("SIDECAR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SIDECAR_LMS__CLIENT_SECRET", SECRET)
    monkeypatch.setenv("SIDECAR_LMS__TOKEN", totara.admin_token)
    (tmp_path / "hrimport").mkdir()
    (tmp_path / "map.yaml").write_text(MAPPING)
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"lms:\n  kind: totara\n  url: {totara.url}\n  client_id: lms-sidecar\n"
                      f"store:\n  url: sqlite:///{tmp_path / 'state.sqlite'}\n"
                      f"sync:\n  sources: [{SOURCE}]\n"
                      f"totara:\n  hr_import_dir: {tmp_path / 'hrimport'}\n"
                      f"skills_map:\n  mapping_file: {tmp_path / 'map.yaml'}\n")

    def run(*args: str):
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    return run


def import_into_totara(totara, folder: Path) -> dict[str, object]:
    """What Totara's admin and cron do: create the framework, then HR Import the file."""
    admin = {"Authorization": f"Bearer {totara.admin_token}"}
    base = f"{totara.url}/_sandbox/totara"
    requests.post(f"{base}/comp-frameworks", json={"idnumber": "WORK-SKILLS",
                                                   "fullname": "Workplace skills"},
                  headers=admin, timeout=10).raise_for_status()
    answer = requests.post(f"{base}/hr-import", json={"file": str(folder / "competency.csv")},
                           headers=admin, timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def links(db, idnumber: str) -> dict[str, bool]:
    rows = db.all("SELECT c.shortname, l.mandatory FROM comp_criteria_course l "
                  "JOIN course c ON c.id = l.courseid JOIN comp ON comp.id = l.competencyid "
                  "WHERE comp.idnumber = ?", (idnumber,))
    return {r["shortname"]: bool(r["mandatory"]) for r in rows}


def exported_and_imported(sidecar, totara, tmp_path: Path) -> None:
    assert sidecar("apply").exit_code == 0
    imported = import_into_totara(totara, tmp_path / "hrimport")
    assert imported["created"] and not imported["skipped"]


def test_links_are_planned_written_and_replanned_to_nothing_keeping_others_links(
        sidecar, totara, db, tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    planned = sidecar("map", "plan")
    assert planned.exit_code == 2, planned.output
    assert "COMM-101" in planned.stdout and "WS-COMM-FEEDBACK" in planned.stdout
    assert "Plan: 2 to link" in " ".join(planned.stdout.split())

    applied = sidecar("map", "apply", "--json")
    assert applied.exit_code == 0, applied.output
    assert [s["status"] for s in json.loads(applied.stdout)["steps"]] == ["done", "done"]
    assert links(db, "WS-COMM-FEEDBACK") == {"COMM-101": True}  # complete = mandatory
    assert links(db, "WS-COMM-DIFFICULT") == {"COMM-120": False}
    again = sidecar("map", "plan")
    assert again.exit_code == 0 and "No changes" in again.stdout

    # Someone links a course by hand in Totara; the file drops COMM-120.
    feedback = db.scalar("SELECT id FROM comp WHERE idnumber = 'WS-COMM-FEEDBACK'")
    hand = db.scalar("SELECT id FROM course WHERE shortname = 'COMM-140'")
    db.insert("comp_criteria_course", competencyid=feedback, courseid=hand, mandatory=0)
    difficult = db.scalar("SELECT id FROM comp WHERE idnumber = 'WS-COMM-DIFFICULT'")
    db.insert("comp_criteria_course", competencyid=difficult, courseid=hand, mandatory=1)
    (tmp_path / "map.yaml").write_text(MAPPING.split("  - course: COMM-120")[0])
    assert sidecar("map", "apply").exit_code == 0
    assert links(db, "WS-COMM-FEEDBACK") == {"COMM-101": True, "COMM-140": False}
    assert links(db, "WS-COMM-DIFFICULT") == {"COMM-140": True}  # only ours was removed
    final = sidecar("map", "plan")
    assert final.exit_code == 0 and "made by others, left alone" not in final.stdout


def test_a_competency_renamed_in_totara_is_not_linked_and_the_plan_says_why(
        sidecar, totara, db, tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    db.execute("UPDATE comp SET fullname = 'Hard talks' WHERE idnumber = 'WS-COMM-DIFFICULT'")
    planned = sidecar("map", "plan")
    assert "1 not found in the LMS by name" in " ".join(planned.stdout.split())
    [unresolved] = [op for op in json.loads(sidecar("map", "plan", "--json").stdout)["ops"]
                    if op["kind"] == "unresolved_link"]
    assert unresolved["competency"] == "WS-COMM-DIFFICULT"
    assert ("no competency named 'Handles difficult conversations' under 'WS-COMM'"
            in unresolved["reason"]) and "renamed" in unresolved["reason"]
    applied = sidecar("map", "apply")
    assert applied.exit_code == 1  # the admin notices: one link could not be placed
    assert "not linked COMM-120/WS-COMM-DIFFICULT" in " ".join(applied.stderr.split())
    assert links(db, "WS-COMM-FEEDBACK") == {"COMM-101": True}
    assert db.scalar("SELECT COUNT(*) FROM comp_criteria_course WHERE competencyid = "
                     "(SELECT id FROM comp WHERE idnumber = 'WS-COMM-DIFFICULT')") == 0


@pytest.mark.parametrize(("switch", "expected"), [
    ("missing", "lacks totara_competency_competency_index"),
    ("feature", "totara_competency_competency_index was refused"),
    ("null", "totara_competency_get_frameworks answered null"),
])
def test_a_site_that_refuses_stops_before_writing_and_names_the_function(
        sidecar, totara, db, tmp_path: Path, switch: str, expected: str):
    exported_and_imported(sidecar, totara, tmp_path)
    if switch == "missing":
        db.execute("DELETE FROM external_services_functions WHERE functionname = "
                   "'totara_competency_competency_index'")
    else:
        name, value = (FEATURE_CONFIG, "3") if switch == "feature" else (DROPS_UNDECLARED, "1")
        db.execute("INSERT OR REPLACE INTO config (name, value) VALUES (?, ?)", (name, value))
    for command in ("plan", "apply"):
        result = sidecar("map", command)
        assert result.exit_code == 1
        message = " ".join(result.stderr.split())
        assert expected in message and "nothing was" in message.lower()
    assert db.scalar("SELECT COUNT(*) FROM comp_criteria_course") == 0


def link_rows(db) -> list[tuple[int, int, int]]:
    return [(r["competencyid"], r["courseid"], r["mandatory"]) for r in db.all(
        "SELECT competencyid, courseid, mandatory FROM comp_criteria_course ORDER BY 1, 2")]


def test_coverage_shows_linked_unlinked_and_unresolved_competencies_and_writes_nothing(
        sidecar, totara, db, tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    assert sidecar("map", "apply").exit_code == 0
    hand = db.scalar("SELECT id FROM course WHERE shortname = 'COMM-140'")
    present = db.scalar("SELECT id FROM comp WHERE idnumber = 'WS-COMM-PRESENT'")
    db.insert("comp_criteria_course", competencyid=present, courseid=hand, mandatory=0)
    db.execute("UPDATE comp SET fullname = 'Hard talks' WHERE idnumber = 'WS-COMM-DIFFICULT'")
    before = link_rows(db)
    files = sorted((tmp_path / "hrimport").iterdir())

    result = sidecar("map", "coverage", "--format", "json", "--svg", str(tmp_path / "m.svg"))
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {(k["course"], k["competency"], k["outcome"]) for k in report["links"]} == {
        ("COMM-101", "WS-COMM-FEEDBACK", "complete"),   # mandatory, written by map apply
        ("COMM-140", "WS-COMM-PRESENT", "evidence")}    # optional, made by hand in Totara
    [unresolved] = report["unresolved_competencies"]
    assert unresolved["idnumber"] == "WS-COMM-DIFFICULT"
    assert "no competency named 'Handles difficult conversations'" in unresolved["reason"]
    uncovered = {c["idnumber"] for c in report["uncovered_competencies"]}
    assert "WS-COMM-WRITE" in uncovered and "WS-COMM-FEEDBACK" not in uncovered
    assert "WS-COMM-DIFFICULT" not in uncovered  # unknown, not "uncovered"
    unmapped = {c["shortname"] for c in report["courses_without_competencies"]}
    assert "COMM-120" in unmapped and "COMM-101" not in unmapped
    top = next(lv for lv in report["levels"] if lv["level"] == 1)
    assert top["framework"] == "WORK-SKILLS" and top["competencies"] >= 1
    svg = (tmp_path / "m.svg").read_text()
    assert "not found on the site" in svg and "WS-COMM-FEEDBACK" in svg

    rows = {r[3]: r for r in __import__("csv").reader(
        sidecar("map", "coverage", "--format", "csv").stdout.splitlines())}
    assert rows["WS-COMM-FEEDBACK"][6] == "COMM-101" and rows["WS-COMM-FEEDBACK"][7] == ""
    assert "renamed" in rows["WS-COMM-DIFFICULT"][7]
    table = " ".join(sidecar("map", "coverage").stdout.split())
    assert "Competencies not found in the LMS (1" in table
    assert "WORK-SKILLS/WS-COMM-DIFFICULT: no competency named" in table

    assert link_rows(db) == before  # nothing written to Totara
    assert sorted((tmp_path / "hrimport").iterdir()) == files


def test_coverage_before_any_import_lists_every_competency_as_not_exported(sidecar, db):
    result = sidecar("map", "coverage", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["links"] == [] and report["uncovered_competencies"] == []
    assert report["unresolved_competencies"]
    assert all("not in the last HR Import export" in c["reason"]
               for c in report["unresolved_competencies"])


def test_suggest_proposes_links_review_writes_them_and_nothing_reaches_totara(
        sidecar, totara, db, tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    (tmp_path / "map.yaml").write_text(MAPPING.split("  - course: COMM-101")[0]
                                       + MAPPING.split("competencies: [WS-COMM-FEEDBACK]\n")[1])
    assert sidecar("map", "apply").exit_code == 0  # COMM-120 -> WS-COMM-DIFFICULT linked
    before = link_rows(db)

    result = sidecar("map", "suggest", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    pairs = {(s["course"], s["competency"]): s for s in answer["suggestions"]}
    feedback = pairs[("COMM-101", "WS-COMM-FEEDBACK")]
    assert feedback["score"] > 0 and "feedback" in " ".join(feedback["evidence"]).lower()
    assert ("COMM-120", "WS-COMM-DIFFICULT") not in pairs  # linked and in the file
    assert ("COMM-140", "WS-COMM-PRESENT") in pairs
    [note] = answer["notes"]
    assert "course tags are not read" in note
    assert " ".join(result.stderr.split()).count("course tags are not read") == 1
    assert link_rows(db) == before  # suggestions are only stored

    reviewed = sidecar("map", "review", "--accept", f"{feedback['id']}=complete")
    assert reviewed.exit_code == 0, reviewed.output
    mapping = (tmp_path / "map.yaml").read_text()
    assert "COMM-101" in mapping and "WS-COMM-FEEDBACK" in mapping
    assert link_rows(db) == before
    again = json.loads(sidecar("map", "suggest", "--json").stdout)
    assert ("COMM-101", "WS-COMM-FEEDBACK") not in {
        (s["course"], s["competency"]) for s in again["suggestions"]}
    planned = sidecar("map", "plan", "--json")
    assert planned.exit_code == 2
    [op] = [op for op in json.loads(planned.stdout)["ops"]
            if op["kind"] == "link_course_competency"]
    assert (op["course"], op["competency"]) == ("COMM-101", "WS-COMM-FEEDBACK")


def test_suggest_and_coverage_stop_when_the_service_lacks_a_link_function(sidecar, db):
    db.execute("DELETE FROM external_services_functions WHERE functionname = "
               "'totara_competency_get_linked_courses'")
    for command in ("suggest", "coverage"):
        result = sidecar("map", command)
        assert result.exit_code == 1
        assert "lacks totara_competency_get_linked_courses" in " ".join(result.stderr.split())


def check_skills_map(sidecar) -> tuple[int, dict[str, object]]:
    result = sidecar("check", "--json")
    report = json.loads(result.stdout)
    return result.exit_code, next(f for f in report["features"] if f["key"] == "skills_map")


def test_check_has_the_skills_map_ready_when_the_service_holds_the_four_functions(
        sidecar, db):
    _, links = check_skills_map(sidecar)
    assert links["ready"] is True
    assert "totara_competency_set_linked_courses" in str(links["detail"])


def test_check_names_the_course_link_function_the_service_lacks_and_the_fix(sidecar, db):
    db.execute("DELETE FROM external_services_functions WHERE functionname = "
               "'totara_competency_get_linked_courses'")
    code, links = check_skills_map(sidecar)
    assert code == 1 and links["ready"] is False
    assert links["detail"] == "the token's service lacks totara_competency_get_linked_courses"
    assert "External services > Functions" in str(links["fixes"])


def test_a_saved_plan_is_refused_when_the_links_changed_since(sidecar, totara, db,
                                                              tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    saved = tmp_path / "links.plan.json"
    assert sidecar("map", "plan", "--out", str(saved)).exit_code == 2
    difficult = db.scalar("SELECT id FROM comp WHERE idnumber = 'WS-COMM-DIFFICULT'")
    hand = db.scalar("SELECT id FROM course WHERE shortname = 'COMM-140'")
    db.insert("comp_criteria_course", competencyid=difficult, courseid=hand, mandatory=0)
    refused = sidecar("map", "apply", str(saved))
    assert refused.exit_code == 1
    assert "changed since the plan was made (WORK-SKILLS/WS-COMM-DIFFICULT)" in " ".join(
        refused.stderr.split())
    assert links(db, "WS-COMM-DIFFICULT") == {"COMM-140": False}


def test_a_course_totara_drops_silently_is_a_failed_step_saying_why(sidecar, totara, db,
                                                                    tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    db.execute("UPDATE course SET visible = 0 WHERE shortname = 'COMM-120'")
    applied = sidecar("map", "apply", "--json")
    assert applied.exit_code == 1
    steps = {s["op"]: s for s in json.loads(applied.stdout)["steps"]}
    failed = steps["link_course_competency:WORK-SKILLS:COMM-120/WS-COMM-DIFFICULT"]
    assert failed["status"] == "failed" and "cannot see the course" in failed["detail"]
    assert links(db, "WS-COMM-FEEDBACK") == {"COMM-101": True}
    # not remembered as ours: a later file without it never removes anything
    (tmp_path / "map.yaml").write_text(MAPPING.split("  - course: COMM-120")[0])
    assert sidecar("map", "plan").exit_code == 0


def test_a_competency_deleted_in_totara_after_we_linked_it_does_not_stop_the_plan(
        sidecar, totara, db, tmp_path: Path):
    exported_and_imported(sidecar, totara, tmp_path)
    assert sidecar("map", "apply").exit_code == 0
    gone = db.scalar("SELECT id FROM comp WHERE idnumber = 'WS-COMM-DIFFICULT'")
    db.execute("DELETE FROM comp_criteria_course WHERE competencyid = ?", (gone,))
    db.execute("DELETE FROM comp WHERE id = ?", (gone,))
    (tmp_path / "map.yaml").write_text(MAPPING.split("  - course: COMM-120")[0])
    planned = sidecar("map", "plan")
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.stdout


def test_the_admin_coverage_page_reads_totara_too(sidecar, totara, db, tmp_path: Path):
    from pydantic import SecretStr

    from config import load_settings
    from sidecar.app import create_app
    from tests.integration.test_admin_feature_pages import PASSWORD, signed_in_client

    exported_and_imported(sidecar, totara, tmp_path)
    assert sidecar("map", "apply").exit_code == 0
    settings = load_settings(tmp_path / "sidecar.yaml")
    admin = settings.admin.model_copy(update={"password": SecretStr(PASSWORD),
                                              "session_key": SecretStr("k" * 40),
                                              "secure_cookies": False})
    page = signed_in_client(create_app(settings.model_copy(update={"admin": admin}))).get(
        "/admin/coverage")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and "WS-COMM-FEEDBACK" in page.text
    assert totara.admin_token not in page.text
