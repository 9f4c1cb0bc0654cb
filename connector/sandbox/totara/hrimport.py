"""What Totara's admin and cron do with competencies, for a sandbox playing Totara: create a
framework by hand, and run HR Import on the competency file lms-sidecar wrote.

As plain functions for tests, and as admin-only control endpoints for a sandbox in another
process::

    POST /_sandbox/totara/comp-frameworks   {"idnumber": "WS", "fullname": "Work skills"}
    POST /_sandbox/totara/hr-import         {"file": "/path/to/competency.csv"}

The import follows the contract (``shared/totara-contract.md``, HR Import): the framework must
already exist, rows are matched by ``idnumber``, ``deleted=1`` removes the competency, and
``parentidnumber`` names a competency of the same framework. Assumptions where the contract
is silent: every row of the file is applied (no "source contains all records" deletion of
absent rows), a row whose framework or parent is unknown is skipped and reported, and the
file is left where it is.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from connector.sandbox.admin import admin_only
from connector.sandbox.control import ControlError
from connector.sandbox.state import Db, SandboxState

blueprint = Blueprint("totara_hrimport", __name__, url_prefix="/_sandbox/totara")


@dataclass
class ImportResult:
    """What one HR Import run did; ``skipped`` holds a line per refused row."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)


def create_framework(db: Db, idnumber: str, fullname: str) -> int:
    """A competency framework made by an admin in Totara (HR Import needs it to exist)."""
    found = db.scalar("SELECT id FROM comp_framework WHERE idnumber = ?", (idnumber,))
    if found is not None:
        db.execute("UPDATE comp_framework SET fullname = ? WHERE id = ?", (fullname, found))
        return int(found)
    return db.insert("comp_framework", idnumber=idnumber, fullname=fullname)


def run_hr_import(db: Db, path: Path) -> ImportResult:
    """Import the competency CSV at ``path`` as Totara's HR Import cron would.

    Raises:
        ControlError: the file cannot be read or lacks the idnumber/fullname columns.
    """
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ControlError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if rows and not {"idnumber", "fullname", "frameworkidnumber"} <= set(rows[0]):
        raise ControlError(f"{path} lacks the idnumber, fullname or frameworkidnumber column")
    frameworks = {r["idnumber"]: r["id"] for r in db.all("SELECT id, idnumber FROM "
                                                         "comp_framework")}
    result = ImportResult()
    kept: list[tuple[dict[str, str], int]] = []
    for row in rows:
        framework = frameworks.get(row["frameworkidnumber"])
        existing = db.scalar("SELECT id FROM comp WHERE idnumber = ?", (row["idnumber"],))
        if row.get("deleted") == "1":
            if existing is not None:
                db.execute("DELETE FROM comp_criteria_course WHERE competencyid = ?",
                           (existing,))
                db.execute("DELETE FROM comp WHERE id = ?", (existing,))
                result.deleted += 1
            continue
        if framework is None:
            result.skipped.append(f"{row['idnumber']}: framework {row['frameworkidnumber']!r} "
                                  "does not exist")
            continue
        values = (row["fullname"], row.get("shortname", ""), row.get("description", ""),
                  framework)
        if existing is None:
            existing = db.insert("comp", idnumber=row["idnumber"], fullname=values[0],
                                 shortname=values[1], description=values[2],
                                 frameworkid=framework, parentid=0)
            result.created += 1
        else:
            db.execute("UPDATE comp SET fullname = ?, shortname = ?, description = ?, "
                       "frameworkid = ? WHERE id = ?", (*values, existing))
            result.updated += 1
        kept.append((row, int(existing)))
    for row, comp_id in kept:  # parents may come after their children in the file
        parent = row.get("parentidnumber") or ""
        parent_id = db.scalar("SELECT id FROM comp WHERE idnumber = ? AND frameworkid = "
                              "(SELECT frameworkid FROM comp WHERE id = ?)", (parent, comp_id))
        if parent and parent_id is None:
            result.skipped.append(f"{row['idnumber']}: parent {parent!r} not in its framework")
        db.execute("UPDATE comp SET parentid = ? WHERE id = ?", (parent_id or 0, comp_id))
    return result


def _state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def _body() -> dict[str, object]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@blueprint.post("/comp-frameworks")
@admin_only
def post_framework() -> Response:
    """Create (or rename) the framework ``idnumber`` with ``fullname``."""
    body = _body()
    with _state().transaction() as db:
        framework_id = create_framework(db, str(body["idnumber"]), str(body["fullname"]))
    return jsonify({"id": framework_id})


@blueprint.post("/hr-import")
@admin_only
def post_hr_import() -> Response:
    """Run HR Import on ``file`` (a path on the sandbox's machine)."""
    with _state().transaction() as db:
        result = run_hr_import(db, Path(str(_body()["file"])))
    return jsonify({"created": result.created, "updated": result.updated,
                    "deleted": result.deleted, "skipped": result.skipped})
