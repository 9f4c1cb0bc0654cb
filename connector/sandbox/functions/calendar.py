"""``core_calendar``: create calendar events (course events, and user events of the caller)."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import InvalidParameterError
from connector.sandbox.exporters import must_get
from connector.sandbox.params import Multiple, Single, dflt, req
from connector.sandbox.registry import Area, Call

area = Area("core_calendar")
EVENT_FIELDS = {"name": req(), "description": dflt("raw", ""), "format": dflt("int", 1),
                "courseid": dflt("int", 0), "groupid": dflt("int", 0), "repeats": dflt("int", 0),
                "eventtype": dflt("alphanumext", "user"), "timestart": dflt("int", 0),
                "timeduration": dflt("int", 0), "visible": dflt("int", 1),
                "sequence": dflt("int", 1)}


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "description": row["description"],
            "format": row["format"], "courseid": row["courseid"], "groupid": row["groupid"],
            "userid": row["userid"], "modulename": "", "instance": 0,
            "eventtype": row["eventtype"], "timestart": row["timestart"],
            "timeduration": row["timeduration"], "visible": row["visible"], "uuid": "",
            "sequence": row["sequence"], "timemodified": row["timemodified"],
            "subscriptionid": None}


@area.function("core_calendar_create_calendar_events",
               {"events": Multiple(Single(EVENT_FIELDS))})
def create_calendar_events(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A ``user`` event always belongs to the token's own user; course events need admin."""
    created = []
    for event in params["events"]:
        courseid = event["courseid"]
        if event["eventtype"] == "user":
            courseid = 0
        elif event["eventtype"] == "course":
            must_get(call.db, "course", courseid)
            call.require_admin("Manage entries")
        else:
            raise InvalidParameterError(f"Invalid event type: {event['eventtype']}")
        eventid = call.db.insert(
            "event", name=event["name"], description=event["description"],
            format=event["format"], courseid=courseid, groupid=event["groupid"],
            userid=call.userid, eventtype=event["eventtype"], timestart=event["timestart"],
            timeduration=event["timeduration"], visible=event["visible"], sequence=1,
            timemodified=call.now)
        created.append(event_record(must_get(call.db, "event", eventid)))
    return {"events": created, "warnings": []}
