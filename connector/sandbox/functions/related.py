"""``core_competency`` related competencies: add and remove a relation between two
competencies of one framework (Moodle keeps each pair once, the lower id first)."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import CodingError
from connector.sandbox.exporters import must_get
from connector.sandbox.functions.frameworks import MANAGE
from connector.sandbox.params import req
from connector.sandbox.registry import Area, Call

area = Area("core_competency_related")
PAIR = {"competencyid": req("int"), "relatedcompetencyid": req("int")}


def _pair(call: Call, params: dict[str, Any]) -> tuple[int, int]:
    first = must_get(call.db, "competency", params["competencyid"])
    second = must_get(call.db, "competency", params["relatedcompetencyid"])
    if first["competencyframeworkid"] != second["competencyframeworkid"]:
        raise CodingError("Only competencies of the same framework can be related.")
    low, high = sorted((first["id"], second["id"]))
    return low, high


@area.function("core_competency_add_related_competency", PAIR, capability=MANAGE)
def add_related(call: Call, params: dict[str, Any]) -> bool:
    """``true``, also when the two were related already (no duplicate row)."""
    low, high = _pair(call, params)
    if not call.db.scalar("SELECT 1 FROM competency_relatedcomp WHERE competencyid = ? AND "
                          "relatedcompetencyid = ?", (low, high)):
        call.db.insert("competency_relatedcomp", competencyid=low, relatedcompetencyid=high,
                       timecreated=call.now, timemodified=call.now, usermodified=call.userid)
    return True


@area.function("core_competency_remove_related_competency", PAIR, capability=MANAGE)
def remove_related(call: Call, params: dict[str, Any]) -> bool:
    """``false`` when the two were not related."""
    low, high = _pair(call, params)
    row = call.db.one("SELECT id FROM competency_relatedcomp WHERE competencyid = ? AND "
                      "relatedcompetencyid = ?", (low, high))
    if row is None:
        return False
    call.db.execute("DELETE FROM competency_relatedcomp WHERE id = ?", (row["id"],))
    return True
