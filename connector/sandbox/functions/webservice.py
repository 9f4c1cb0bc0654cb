"""``core_webservice``: site information, including the functions the token's service allows."""

from __future__ import annotations

from typing import Any

from connector.sandbox.encoding import ABSENT
from connector.sandbox.exporters import THEME_REV, fullname
from connector.sandbox.registry import MOODLE_VERSION, Area, Call

area = Area("core_webservice")

ADVANCED_FEATURES = [
    ("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1),
    ("enableblogs", 1), ("enablecompletion", 1), ("enablebadges", 1),
    ("messagingallusers", 0), ("enablecustomreports", 1), ("enableglobalsearch", 0),
    ("mnet_dispatcher_mode", 0), ("enablecompetencies", 1),
]


@area.function("core_webservice_get_site_info", {})
def get_site_info(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Who the token belongs to and exactly which functions its service lists."""
    user = call.user
    names = call.db.all(
        "SELECT functionname FROM external_services_functions WHERE externalserviceid = ? "
        "ORDER BY id",
        (user["externalserviceid"],),
    )
    sitename = call.db.scalar("SELECT value FROM config WHERE name = 'sitename'")
    return {
        "sitename": sitename, "username": user["username"], "firstname": user["firstname"],
        "lastname": user["lastname"], "fullname": fullname(user), "lang": user["lang"],
        "userid": user["id"], "siteurl": call.site_url,
        "userpictureurl": f"{call.site_url}/theme/image.php/boost/core/{THEME_REV}/u/f1",
        "functions": [{"name": row["functionname"], "version": MOODLE_VERSION} for row in names],
        "downloadfiles": 0, "uploadfiles": 0, "release": "4.5.6 (Build: 20250811)",
        "version": MOODLE_VERSION, "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": v} for n, v in ADVANCED_FEATURES],
        "usercanmanageownfiles": True, "userquota": 0, "usermaxuploadfilesize": -1,
        "userhomepage": 1, "userhomepageurl": ABSENT,
        "userprivateaccesskey": f"{user['id']:032x}", "siteid": 1,
        "sitecalendartype": "gregorian", "usercalendartype": "gregorian",
        "userissiteadmin": bool(user["siteadmin"]), "theme": "boost",
        "limitconcurrentlogins": 0, "usersessionscount": ABSENT, "policyagreed": 0,
    }
