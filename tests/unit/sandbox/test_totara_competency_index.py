"""The sandbox's totara_competency_competency_index takes the parameters of Totara's
services/competency.php (filters, page, order, direction) and answers a page in the ORM
paginator's shape; its HR Import puts lms-sidecar's competency file into the comp tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import create_app, state_of
from connector.sandbox.totara.hrimport import create_framework, run_hr_import
from connector.sandbox.totara.legacy import DROPS_UNDECLARED, FEATURE_CONFIG
from connector.sandbox.totara.site import TotaraSite
from connector.totara.hrimport import CompetencyRow, render_csv
from tests.unit.sandbox.test_behaviour import TOKEN, call


@pytest.fixture
def app() -> Any:
    app = create_app(admin_token=TOKEN, totara=TotaraSite(release="19", client_secret="s" * 16))
    with state_of(app).transaction() as db:
        db.insert("comp_framework", id=5, idnumber="FW", fullname="Skills")
        db.insert("comp_framework", id=6, idnumber="OTHER", fullname="Other")
        for n in range(25):
            db.insert("comp", id=100 + n, frameworkid=5, idnumber=f"C-{n}",
                      fullname=f"Skill {n} & co", parentid=100 if n else 0)
        db.insert("comp", id=900, frameworkid=6, idnumber="X", fullname="Elsewhere")
    return app


def index(app: Any, page: int, *extra: tuple[str, str]) -> Any:
    return call(app.test_client(), "totara_competency_competency_index",
                ("filters[framework]", "5"), ("page", str(page)), ("order", "id"),
                ("direction", "asc"), *extra)


def test_pages_of_one_framework_follow_next_to_the_end(app: Any) -> None:
    first, second = index(app, 1), index(app, 2)
    assert (len(first["items"]), first["next"], first["total"], first["pages"]) == (20, 2, 25, 2)
    assert (len(second["items"]), second["next"], second["prev"]) == (5, None, 1)
    assert {c["frameworkid"] for c in first["items"] + second["items"]} == {5}
    assert first["items"][1] == {"id": 101, "fullname": "Skill 1 &amp; co",
                                 "description": "", "display_name": "Skill 1 &amp; co",
                                 "parentid": 100, "frameworkid": 5, "children_count": 0,
                                 "assignments_count": 0}
    assert "idnumber" not in first["items"][0]  # Totara's answer has none


def test_order_and_direction_are_required_as_in_totaras_definition(app: Any) -> None:
    refused = call(app.test_client(), "totara_competency_competency_index", ("page", "1"))
    assert refused["errorcode"] == "invalidparameter"


def test_feature_off_is_refused_and_a_dropping_rest_server_answers_null(app: Any) -> None:
    with state_of(app).transaction() as db:
        db.insert("config", name=FEATURE_CONFIG, value="3")
    assert index(app, 1)["errorcode"] == "featurenotavailable"
    with state_of(app).transaction() as db:
        db.execute("DELETE FROM config WHERE name = ?", (FEATURE_CONFIG,))
        db.insert("config", name=DROPS_UNDECLARED, value="1")
    assert index(app, 1) is None
    assert call(app.test_client(), "totara_competency_get_frameworks") is None


def test_hr_import_creates_updates_deletes_and_skips_rows_it_cannot_place(
        app: Any, tmp_path: Path) -> None:
    file = tmp_path / "competency.csv"
    file.write_text(render_csv([
        CompetencyRow("NEW-CHILD", "Child", "FW", parentidnumber="NEW-TOP"),
        CompetencyRow("NEW-TOP", "Top", "FW"),
        CompetencyRow("C-3", "Renamed by HR", "FW", parentidnumber="C-0"),
        CompetencyRow("C-4", "Gone", "FW", deleted=True),
        CompetencyRow("LOST", "Lost", "NO-SUCH-FW"),
    ]), encoding="utf-8")
    with state_of(app).transaction() as db:
        create_framework(db, "FW", "Skills (renamed)")
        result = run_hr_import(db, file)
        top = db.scalar("SELECT id FROM comp WHERE idnumber = 'NEW-TOP'")
        assert db.scalar("SELECT parentid FROM comp WHERE idnumber = 'NEW-CHILD'") == top
        assert db.scalar("SELECT fullname FROM comp WHERE idnumber = 'C-3'") == "Renamed by HR"
        assert db.scalar("SELECT COUNT(*) FROM comp WHERE idnumber = 'C-4'") == 0
        assert db.scalar("SELECT fullname FROM comp_framework WHERE id = 5") == "Skills (renamed)"
    assert (result.created, result.updated, result.deleted) == (2, 1, 1)
    assert result.skipped == ["LOST: framework 'NO-SUCH-FW' does not exist"]
