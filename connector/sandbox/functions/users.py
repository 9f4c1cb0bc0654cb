"""``core_user``: create users and read them by id, idnumber, username or email."""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import InvalidParameterError
from connector.sandbox.exporters import user_details
from connector.sandbox.params import Multiple, Single, dflt, opt, req
from connector.sandbox.passwords import hash_password
from connector.sandbox.registry import Area, Call

area = Area("core_user")

USER_FIELDS = {
    "createpassword": opt("bool"), "username": req(), "auth": dflt("text", "manual"),
    "password": opt("raw"), "firstname": req(), "lastname": req(), "email": req(),
    "maildisplay": opt("int"), "city": opt(), "country": opt(), "timezone": opt(),
    "description": opt("raw"), "idnumber": dflt("raw", ""), "institution": opt(),
    "department": opt(), "phone1": opt(), "phone2": opt(), "address": opt(),
    "lang": dflt("text", "en"), "calendartype": opt(), "theme": opt(), "mailformat": opt("int"),
}


@area.function("core_user_create_users", {"users": Multiple(Single(USER_FIELDS))},
               capability="Create users")
def create_users(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Create users; a taken username is an ``invalidparameter`` naming it in debuginfo."""
    created = []
    for user in params["users"]:
        username = user["username"]
        if username != username.lower():
            raise InvalidParameterError("The username must be in lower case")
        if call.db.scalar("SELECT 1 FROM user WHERE username = ?", (username,)):
            raise InvalidParameterError(f"Username already exists: {username}")
        if "password" not in user and not user.get("createpassword"):
            raise InvalidParameterError("Invalid password: you must provide a password, or set "
                                        "createpassword.")
        userid = call.db.insert(
            "user", username=username,
            password=hash_password(user.get("password") or username, username),
            firstname=user["firstname"], lastname=user["lastname"], email=user["email"],
            idnumber=user["idnumber"], department=user.get("department", ""),
            institution=user.get("institution", ""), city=user.get("city", ""),
            auth=user["auth"], lang=user["lang"], timezone=user.get("timezone", "99"),
            mailformat=user.get("mailformat", 1), timecreated=call.now,
        )
        call.db.user_context(userid)
        created.append({"id": userid, "username": username})
    return created


@area.function("core_user_get_users_by_field",
               {"field": req("alphanumext"), "values": Multiple(req("raw"))})
def get_users_by_field(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Users whose ``field`` is one of ``values``; unknown values are simply left out."""
    field = params["field"]
    if field not in ("id", "idnumber", "username", "email"):
        raise InvalidParameterError("The search field 'field' is not supported, look at the web "
                                    "service documentation")
    values = list(dict.fromkeys(params["values"]))
    if field == "id":
        values = [int(v) for v in values if str(v).lstrip("-").isdigit()]
    found = []
    for chunk in range(0, len(values), 500):
        part = values[chunk : chunk + 500]
        marks = ",".join("?" for _ in part)
        found += call.db.all(
            f"SELECT * FROM user WHERE {field} IN ({marks}) AND id > 1 ORDER BY id",  # noqa: S608
            part,
        )
    found.sort(key=lambda row: row["id"])
    return [user_details(row, call.site_url) for row in found]
