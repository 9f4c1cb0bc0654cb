"""``core_tag``: tag areas, the tag cloud and the tag index, as Moodle 4.5 defines them.

No exchange with these functions is recorded: parameters, answers and errors follow Moodle's
own definitions (``tag/classes/external.php``, ``tag/classes/collection.php``
``get_tag_cloud``, ``tag/classes/output/tagcloud.php``, ``tag/classes/external/
tag_area_exporter.php``, ``lang/en/tag.php``). A fresh site has the default collection and the
standard areas; ``tag_course`` tags a course the way the course form does.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from connector.sandbox.errors import MissingRecordError, MoodleError
from connector.sandbox.params import Single, dflt
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_tag")

TAG_SCHEMA = """
CREATE TABLE tag_coll (id INTEGER PRIMARY KEY, name TEXT, isdefault INTEGER NOT NULL DEFAULT 0,
    component TEXT, sortorder INTEGER NOT NULL DEFAULT 0, searchable INTEGER NOT NULL DEFAULT 1);
CREATE TABLE tag_area (id INTEGER PRIMARY KEY, component TEXT NOT NULL, itemtype TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1, tagcollid INTEGER NOT NULL, callback TEXT,
    callbackfile TEXT, showstandard INTEGER NOT NULL DEFAULT 0,
    multiplecontexts INTEGER NOT NULL DEFAULT 0, UNIQUE (component, itemtype));
CREATE TABLE tag (id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, tagcollid INTEGER NOT NULL,
    name TEXT NOT NULL, rawname TEXT NOT NULL, isstandard INTEGER NOT NULL DEFAULT 0,
    flag INTEGER NOT NULL DEFAULT 0, timemodified INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tagcollid, name));
CREATE TABLE tag_instance (id INTEGER PRIMARY KEY, tagid INTEGER NOT NULL,
    component TEXT NOT NULL, itemtype TEXT NOT NULL, itemid INTEGER NOT NULL,
    contextid INTEGER NOT NULL, ordering INTEGER NOT NULL DEFAULT 0,
    timecreated INTEGER NOT NULL DEFAULT 0, UNIQUE (tagid, component, itemtype, itemid));
"""
# (component, itemtype, callback, callbackfile) of the areas a fresh Moodle 4.5 registers first
# (lib/db/tag.php); ids are the sandbox's own, a client reads them from get_tag_areas.
STANDARD_AREAS = (
    ("core", "user", "user_get_tagged_users", "/user/lib.php"),
    ("core", "course", "course_get_tagged_courses", "/course/lib.php"),
    ("core", "course_modules", "course_get_tagged_course_modules", "/course/lib.php"),
    ("core", "blog_external", None, None),
    ("core", "post", "blog_get_tagged_posts", "/blog/lib.php"),
)


def create_tag_tables(db: Db) -> None:
    """The tag tables with the default collection and the standard areas, as installed."""
    db.conn.executescript(TAG_SCHEMA)
    collection = db.insert("tag_coll", name=None, isdefault=1, sortorder=0, searchable=1)
    for component, itemtype, callback, callbackfile in STANDARD_AREAS:
        db.insert("tag_area", component=component, itemtype=itemtype, tagcollid=collection,
                  callback=callback, callbackfile=callbackfile)


def tag_item(db: Db, now: int, rawname: str, *, itemtype: str, itemid: int,
             contextid: int) -> int:
    """Put tag ``rawname`` on an item of ``core``'s area ``itemtype`` (creating the tag in
    the area's collection, names compared lower-case as Moodle does); returns the tag id."""
    collection = db.scalar("SELECT tagcollid FROM tag_area WHERE component = 'core' "
                           "AND itemtype = ?", (itemtype,))
    name = rawname.strip().lower()
    tagid = db.scalar("SELECT id FROM tag WHERE tagcollid = ? AND name = ?", (collection, name))
    if tagid is None:
        tagid = db.insert("tag", userid=2, tagcollid=collection, name=name,
                          rawname=rawname.strip(), timemodified=now)
    ordering = db.scalar("SELECT COUNT(*) FROM tag_instance WHERE itemtype = ? AND itemid = ?",
                         (itemtype, itemid))
    db.execute("INSERT OR IGNORE INTO tag_instance (tagid, component, itemtype, itemid, "
               "contextid, ordering, timecreated) VALUES (?, 'core', ?, ?, ?, ?, ?)",
               (tagid, itemtype, itemid, contextid, ordering, now))
    return int(tagid)


def _require_tags(call: Call) -> None:
    if call.db.scalar("SELECT value FROM config WHERE name = 'usetags'") == "0":
        raise MoodleError("tagsaredisabled", "Tags are disabled")


@area.function("core_tag_get_tag_areas", {})
def get_tag_areas(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Every tag area (tag_area_exporter's fields)."""
    _require_tags(call)
    areas = [{"id": row["id"], "component": row["component"], "itemtype": row["itemtype"],
              "enabled": bool(row["enabled"]), "tagcollid": row["tagcollid"],
              "callback": row["callback"], "callbackfile": row["callbackfile"],
              "showstandard": row["showstandard"],
              "multiplecontexts": bool(row["multiplecontexts"]), "locked": False}
             for row in call.db.all("SELECT * FROM tag_area ORDER BY id")]
    return {"areas": areas, "warnings": []}


@area.function("core_tag_get_tag_cloud", {
    "tagcollid": dflt("int", 0), "isstandard": dflt("bool", False), "limit": dflt("int", 150),
    "sort": dflt("text", "name"), "search": dflt("raw", ""), "fromctx": dflt("int", 0),
    "ctx": dflt("int", 0), "rec": dflt("int", 1)})
def get_tag_cloud(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The most used tags (instance count, then name), ``limit`` 0 meaning all, sorted by
    ``sort`` afterwards; each with its display name and tag-page URL, never its id."""
    _require_tags(call)
    where, args = ["ti.itemtype <> 'tag'"], []
    if params["tagcollid"]:
        where.append("tg.tagcollid = ?")
        args.append(params["tagcollid"])
    if params["isstandard"]:
        where.append("tg.isstandard = 1")
    if params["search"]:
        where.append("tg.name LIKE ?")
        args.append(f"%{params['search'].lower()}%")
    query = (f"SELECT tg.id, tg.name, tg.rawname, tg.tagcollid, COUNT(ti.id) AS count "  # noqa: S608
             f"FROM tag_instance ti JOIN tag tg ON tg.id = ti.tagid WHERE {' AND '.join(where)} "
             "GROUP BY tg.id ORDER BY count DESC, tg.name ASC")
    rows = call.db.all(query, args)
    total = len(rows)
    if params["limit"]:
        rows = rows[: params["limit"]]
    key = params["sort"] if params["sort"] in ("id", "name", "rawname", "count") else "name"
    rows.sort(key=lambda r: r[key])
    most = max([r["count"] for r in rows] + [1])
    # make_display_name($tag, false): the raw name, not HTML-escaped
    tags = [{"name": r["rawname"],
             "viewurl": f"{call.site_url}/tag/index.php?"
                        + urlencode({"tc": r["tagcollid"], "tag": r["rawname"]}),
             "count": r["count"], "size": int(r["count"] / most * 20)} for r in rows]
    return {"tags": tags, "tagscount": len(tags), "totalcount": total, "warnings": []}


@area.function("core_tag_get_tagindex_per_area", {"tagindex": Single({
    "id": dflt("int", 0), "tag": dflt("text", ""), "tc": dflt("int", 0), "ta": dflt("int", 0),
    "excl": dflt("bool", False), "from": dflt("int", 0), "ctx": dflt("int", 0),
    "rec": dflt("int", 1), "page": dflt("int", 0)})})
def get_tagindex_per_area(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The items tagged with a tag (by name within collection ``tc``, or by id), one entry per
    area of the collection that has any; ``ta`` narrows to one area."""
    _require_tags(call)
    query = params["tagindex"]
    tag = _find_tag(call.db, query)
    areas = call.db.all("SELECT * FROM tag_area WHERE tagcollid = ? ORDER BY id",
                        (query["tc"],))
    if query["ta"]:
        areas = [a for a in areas if a["id"] == query["ta"]]
    result = []
    for ta in areas:
        items = call.db.all("SELECT itemid FROM tag_instance WHERE tagid = ? AND component = ? "
                            "AND itemtype = ? ORDER BY itemid",
                            (tag["id"], ta["component"], ta["itemtype"]))
        if items and ta["enabled"]:
            result.append({"tagid": tag["id"], "ta": ta["id"], "component": ta["component"],
                           "itemtype": ta["itemtype"], "title": ta["itemtype"].capitalize(),
                           "content": _content(call, ta["itemtype"],
                                               [i["itemid"] for i in items]),
                           "hascontent": 1, "anchor": ta["itemtype"]})
    return result


def _find_tag(db: Db, query: dict[str, Any]) -> dict[str, Any]:
    """The tag as Moodle looks it up: by name in ``tc`` (guessed when ``tc`` is 0), else by
    id; then again by name in ``tc``, which fails for ``tc`` 0 (Moodle's own code does so)."""
    tag: dict[str, Any] | None = None
    name = query["tag"].strip().lower()
    if name:
        if not query["tc"]:
            found = db.all("SELECT * FROM tag WHERE name = ?", (name,))
            if len(found) > 1:
                raise MoodleError(None, "Tag is in more that one collection, please indicate "
                                  "one.")
            tag = found[0] if found else None
        else:
            tag = db.one("SELECT * FROM tag WHERE tagcollid = ? AND name = ?",
                         (query["tc"], name))
            if tag is None:
                raise MoodleError("notagsfound", 'No tags matching "" found')
    elif query["id"]:
        tag = db.one("SELECT * FROM tag WHERE id = ?", (query["id"],))
    if tag is None:
        raise MoodleError("notagsfound", 'No tags matching "" found')
    again = db.one("SELECT * FROM tag WHERE tagcollid = ? AND name = ?", (query["tc"], tag["name"]))
    if again is None:
        raise MissingRecordError("tag", "tagcollid = ? AND name", tag["name"])
    return again


def _content(call: Call, itemtype: str, ids: list[int]) -> str:
    """Rendered HTML in the manner of the area's callback (clients should not parse it)."""
    if itemtype != "course":
        return f'<ul class="tag_list">{"".join(f"<li>{i}</li>" for i in ids)}</ul>'
    marks = ",".join("?" for _ in ids)
    rows = call.db.all(f"SELECT id, fullname FROM course WHERE id IN ({marks})", ids)  # noqa: S608
    links = "".join(f'<li><a href="{call.site_url}/course/view.php?id={r["id"]}">'
                    f"{escape(r['fullname'])}</a></li>" for r in rows)
    return f'<div class="courses"><ul>{links}</ul></div>'
