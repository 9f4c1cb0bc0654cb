"""The skills map end to end against the sandbox Moodle, through the CLI as an admin runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.moodle.client import MoodleClient
from sidecar.cli import cli

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


class Admin:
    """Runs `sidecar ...` with a config for the sandbox, a store and a mapping file."""

    def __init__(self, tmp_path: Path, sandbox) -> None:
        self.dir = tmp_path
        self.mapping = tmp_path / "skills-map.yaml"
        self.config = tmp_path / "sidecar.yaml"
        self.config.write_text(
            f"lms:\n  url: {sandbox.url}\n  retries: {{attempts: 3, backoff: 0.01}}\n"
            f"store:\n  url: sqlite:///{tmp_path / 'store.sqlite'}\n"
            f"sync:\n  sources: [{REPO / 'examples' / 'frameworks'}]\n"
            f"skills_map:\n  mapping_file: {self.mapping}\n  method: tfidf\n"
            f"  reviewer: ana\n")
        self.env = {"SIDECAR_LMS__TOKEN": sandbox.admin_token}

    def run(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], env=self.env,
                                  input=input, catch_exceptions=False)

    def json(self, *args: str) -> object:
        result = self.run(*args, "--json")
        return json.loads(result.stdout)


@pytest.fixture
def admin(tmp_path: Path, sandbox) -> Admin:
    admin = Admin(tmp_path, sandbox)
    assert admin.run("apply").exit_code == 0  # the example frameworks are in Moodle
    return admin


def links_of(client: MoodleClient, shortname: str) -> dict[str, int]:
    [course] = client.courses_by_field("shortname", shortname)
    return {row.competency.idnumber: row.coursecompetency.ruleoutcome
            for row in client.course_competencies(course.id)}


MAPPING = """\
# written by the L&D team
framework: WORK-SKILLS
links:
  - course: COMM-160
    competencies:
      - {idnumber: WS-COMM-WRITE, outcome: complete}
  - course: SAFE-120
    outcome: recommend
    competencies: [WS-SAFE-FIRE, WS-SAFE-HAZARD]
"""


def test_plan_apply_sets_outcomes_in_the_same_run_and_a_rerun_writes_nothing(
        admin: Admin, client: MoodleClient):
    admin.mapping.write_text(MAPPING)

    planned = admin.run("map", "plan")
    assert planned.exit_code == 2
    assert "3 to link" in planned.stdout

    applied = admin.json("map", "apply")
    assert applied["ok"] and applied["changes"] == 3
    assert links_of(client, "COMM-160") == {"WS-COMM-WRITE": 3}
    assert links_of(client, "SAFE-120") == {"WS-SAFE-FIRE": 2, "WS-SAFE-HAZARD": 2}

    assert admin.run("map", "plan").exit_code == 0
    again = admin.json("map", "apply")
    assert again["changes"] == 0 and again["steps"] == []
    writes = [f for f in ("add_competency_to_course", "set_course_competency_ruleoutcome",
                          "remove_competency_from_course") if f in json.dumps(again)]
    assert writes == []


def test_an_outcome_changed_in_moodle_is_put_back(admin: Admin, client: MoodleClient):
    admin.mapping.write_text(MAPPING)
    admin.run("map", "apply")
    [course] = client.courses_by_field("shortname", "COMM-160")
    [row] = client.course_competencies(course.id)
    client.set_course_competency_ruleoutcome(row.coursecompetency.id, 0)

    plan = admin.json("map", "plan")
    assert [op["kind"] for op in plan["ops"]] == ["set_link_outcome"]
    admin.run("map", "apply")
    assert links_of(client, "COMM-160") == {"WS-COMM-WRITE": 3}


def test_only_links_lms_sidecar_made_are_removed(admin: Admin, client: MoodleClient):
    [course] = client.courses_by_field("shortname", "SAFE-120")
    [by_hand] = client.list_competencies(idnumber="WS-SAFE-HANDLING")
    client.add_competency_to_course(course.id, by_hand.id)  # an admin, in Moodle
    admin.mapping.write_text(MAPPING)
    admin.run("map", "apply")

    admin.mapping.write_text(MAPPING.replace("WS-SAFE-FIRE, WS-SAFE-HAZARD", "WS-SAFE-FIRE"))
    plan = admin.json("map", "plan")
    kinds = {(op["kind"], op["competency"]) for op in plan["ops"]}
    assert ("unlink_course_competency", "WS-SAFE-HAZARD") in kinds
    assert ("foreign_link", "WS-SAFE-HANDLING") in kinds
    admin.run("map", "apply")

    assert links_of(client, "SAFE-120") == {"WS-SAFE-FIRE": 2, "WS-SAFE-HANDLING": 1}


def test_a_bad_mapping_file_is_refused_with_lines_and_nothing_is_sent(
        admin: Admin, client: MoodleClient):
    admin.mapping.write_text(MAPPING + "  - course: NO-SUCH-COURSE\n"
                             "    competencies: [WS-NOPE]\n    outcome: always\n")
    result = admin.run("map", "apply")

    assert result.exit_code == 1
    assert "line 12" in result.stderr and "outcome" in result.stderr
    assert links_of(client, "COMM-160") == {}
    admin.mapping.write_text(MAPPING + "  - course: NO-SUCH-COURSE\n"
                             "    competencies: [WS-NOPE]\n")
    result = admin.run("map", "plan")
    assert result.exit_code == 1
    assert "NO-SUCH-COURSE" in result.stderr and "WS-NOPE" in result.stderr
    assert "line 11" in result.stderr


def test_suggest_review_apply_coverage_and_audit(admin: Admin, client: MoodleClient):
    suggested = admin.json("map", "suggest")
    rows = {(s["course"], s["competency"]): s for s in suggested["suggestions"]}
    write = rows[("COMM-160", "WS-COMM-WRITE")]
    assert write["score"] > 0.3 and write["evidence"]
    wrong = next(s for s in suggested["suggestions"] if s["course"] == "DATA-101"
                 and s["competency"] != "WS-DATA-READ")

    assert links_of(client, "COMM-160") == {}  # suggestions never reach the LMS by themselves
    reviewed = admin.run("map", "review", "--accept", f"{write['id']}=complete",
                         "--reject", str(wrong["id"]))
    assert reviewed.exit_code == 0
    assert "WS-COMM-WRITE" in admin.mapping.read_text()

    assert admin.run("map", "apply").exit_code == 0
    assert links_of(client, "COMM-160") == {"WS-COMM-WRITE": 3}

    again = admin.json("map", "suggest")["suggestions"]
    assert not [s for s in again if (s["course"], s["competency"]) in {
        ("COMM-160", "WS-COMM-WRITE"), (wrong["course"], wrong["competency"])}]

    report = json.loads(admin.run("map", "coverage", "--format", "json",
                                  "--svg", str(admin.dir / "m.svg")).stdout)
    assert {"course": "COMM-160", "framework": "WORK-SKILLS", "competency": "WS-COMM-WRITE",
            "outcome": "complete"} in report["links"]
    assert "SAFE-120" in [c["shortname"] for c in report["courses_without_competencies"]]
    assert (admin.dir / "m.svg").read_text().startswith("<?xml")

    audit = json.loads(admin.run("audit", "--since", "1d", "--format", "json").stdout)
    assert [(a["actor"], a["action"], a["suggestion"]) for a in audit] == [
        ("ana", "suggestion.accepted", write["id"]), ("ana", "suggestion.rejected", wrong["id"])]
    assert audit[0]["detail"]["outcome"] == "complete" and audit[0]["score"] == write["score"]


def test_interactive_review_accept_reject_skip_and_outcome(admin: Admin):
    admin.run("map", "suggest", "--top-k", "1", "--threshold", "0.5")
    result = admin.run("map", "review", input="a\nr\ns\no\nrecommend\nq\n")
    assert result.exit_code == 0
    audit = json.loads(admin.run("audit", "--format", "json").stdout)
    assert [a["action"] for a in audit] == ["suggestion.accepted", "suggestion.rejected",
                                            "suggestion.accepted"]
    assert audit[2]["detail"]["outcome"] == "recommend"
    assert admin.run("map", "plan").exit_code == 2
    tune = admin.run("map", "review", "--tune")
    assert "WORK-SKILLS: threshold" in tune.stdout


def test_auto_accept_above_a_threshold_is_audited(admin: Admin, client: MoodleClient):
    with admin.config.open("a") as config:
        config.write("  auto_accept: true\n  auto_accept_threshold: 0.6\n")
    result = admin.json("map", "suggest")
    assert result["auto_accepted"]
    audit = json.loads(admin.run("audit", "--format", "json").stdout)
    assert {a["actor"] for a in audit} == {"auto-accept"}
    assert len(audit) == len(result["auto_accepted"])
    assert admin.run("map", "apply").exit_code == 0
    course, _, competency = result["auto_accepted"][0]
    assert competency in links_of(client, course)


def test_the_demo_runs_every_step_as_expected(tmp_path: Path):
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output[-2000:]
    assert "sidecar map apply" in result.output
    assert (tmp_path / "demo" / "coverage.svg").read_text().startswith("<?xml")
    assert "WS-" in (tmp_path / "demo" / "skills-map.yaml").read_text()
