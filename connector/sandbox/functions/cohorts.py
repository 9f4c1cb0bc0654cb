"""``core_cohort``: create cohorts, add members."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import InvalidParameterError
from connector.sandbox.params import Multiple, Single, Spec, dflt, req
from connector.sandbox.registry import Area, Call

area = Area("core_cohort")
MANAGE = "Create, delete and move cohorts"
TYPED = Single({"type": req("alphanumext"), "value": req("raw")})
COHORT_FIELDS: dict[str, Spec] = {"categorytype": TYPED, "name": req(), "idnumber": dflt("raw", ""),
                 "description": dflt("raw", ""), "descriptionformat": dflt("int", 1),
                 "visible": dflt("bool", True), "theme": dflt("text", "")}


@area.function("core_cohort_create_cohorts", {"cohorts": Multiple(Single(COHORT_FIELDS))},
               capability=MANAGE)
def create_cohorts(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for cohort in params["cohorts"]:
        if cohort["categorytype"]["type"] != "system":
            raise InvalidParameterError("Invalid category type: only system cohorts here")
        if cohort["idnumber"] and call.db.scalar("SELECT 1 FROM cohort WHERE idnumber = ?",
                                                 (cohort["idnumber"],)):
            raise InvalidParameterError("record already exists: idnumber")
        cohortid = call.db.insert(
            "cohort", contextid=call.db.system_context(), name=cohort["name"],
            idnumber=cohort["idnumber"], description=cohort["description"],
            descriptionformat=cohort["descriptionformat"], visible=int(cohort["visible"]),
            theme=cohort["theme"], timecreated=call.now)
        out.append({"id": cohortid, "name": cohort["name"], "idnumber": cohort["idnumber"],
                    "description": cohort["description"],
                    "descriptionformat": cohort["descriptionformat"],
                    "visible": bool(cohort["visible"]), "theme": cohort["theme"]})
    return out


@area.function("core_cohort_add_cohort_members",
               {"members": Multiple(Single({"cohorttype": TYPED, "usertype": TYPED}))},
               capability="Assign cohort members")
def add_cohort_members(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Add members; unknown cohorts or users become warnings, not errors."""
    warnings = []
    for member in params["members"]:
        ctype, utype = member["cohorttype"], member["usertype"]
        cohort = None
        if ctype["type"] in ("id", "idnumber"):
            cohort = call.db.one(f"SELECT id FROM cohort WHERE {ctype['type']} = ?",  # noqa: S608
                                 (ctype["value"],))
        user = None
        if utype["type"] in ("id", "idnumber", "username"):
            user = call.db.one(f"SELECT id FROM user WHERE {utype['type']} = ?",  # noqa: S608
                               (utype["value"],))
        if cohort is None or user is None:
            warnings.append({"warningcode": "1", "message": "invalid parameter: "
                             f"cohorttype={ctype['type']} usertype={utype['type']}"})
            continue
        if not call.db.scalar("SELECT 1 FROM cohort_members WHERE cohortid = ? AND userid = ?",
                              (cohort["id"], user["id"])):
            call.db.insert("cohort_members", cohortid=cohort["id"], userid=user["id"],
                           timeadded=call.now)
    return {"warnings": warnings}
