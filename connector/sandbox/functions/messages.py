"""``core_message``: instant messages, reading them back, conversations.

Moodle 4.5 with ``messagingallusers = 0``: a site admin may message anyone; other users only
people they share a course with. A refused message comes back with ``msgid: -1``.
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.encoding import html_to_text, php_json, plain_to_html
from connector.sandbox.exporters import THEME_REV, fullname, must_get, picture_urls
from connector.sandbox.params import Multiple, Single, dflt, opt, req
from connector.sandbox.registry import Area, Call
from connector.sandbox.state import Db

area = Area("core_message")
FORMAT_HTML, FORMAT_PLAIN = 1, 2
READ = 1
REFUSED = ("You can't message this user due to their message preferences. "
           "Try adding them as a contact.")
MESSAGE = Single({"touserid": req("int"), "text": req("raw"), "textformat": dflt("int", 1),
                  "clientmsgid": opt("raw")})
MESSAGE_COLUMNS = ("useridfrom", "conversationid", "subject", "fullmessage", "fullmessageformat",
                   "fullmessagehtml", "smallmessage", "timecreated")


def _can_message(db: Db, sender: dict[str, Any], recipient: int) -> bool:
    if sender["siteadmin"]:
        return True
    return bool(db.scalar(
        "SELECT 1 FROM user_enrolments a JOIN user_enrolments b ON a.courseid = b.courseid "
        "WHERE a.userid = ? AND b.userid = ?", (sender["id"], recipient)))


def _convhash(one: int, two: int) -> str:
    return f"{min(one, two)}-{max(one, two)}"


def _recipients(call: Call, items: list[dict[str, Any]]) -> tuple[set[int], dict[int, int]]:
    """Who of the messages' recipients may be messaged (they exist and ``_can_message``), and
    the existing conversations with them by recipient."""
    recipients = list(dict.fromkeys(item["touserid"] for item in items))
    existing = call.db.keyed("SELECT id, id FROM user WHERE id IN ({keys})", recipients)
    allowed = {touserid for touserid in recipients
               if touserid in existing and _can_message(call.db, call.user, touserid)}
    hashes = {touserid: _convhash(call.userid, touserid) for touserid in recipients
              if touserid in allowed}
    found = call.db.keyed(
        "SELECT convhash, id FROM message_conversations WHERE convhash IN ({keys})",
        list(hashes.values()))
    conversations = {touserid: found[convhash] for touserid, convhash in hashes.items()
                     if found.get(convhash)}
    return allowed, conversations


@area.function("core_message_send_instant_messages", {"messages": Multiple(MESSAGE)})
def send_instant_messages(call: Call, params: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per message; plain text comes back wrapped in ``<p>``.

    Recipients and their conversations are looked up for the whole call; new conversations,
    their members and the messages are inserted with one statement each, with the ids SQLite
    would have given them one by one.
    """
    db, sender = call.db, call.userid
    subject = f"New message from {fullname(call.user)}"
    allowed, conversations = _recipients(call, params["messages"])
    first_convid: int | None = None
    new_conversations: list[tuple[Any, ...]] = []
    members: list[tuple[int, int]] = []
    rows: list[tuple[Any, ...]] = []
    sent: list[dict[str, Any]] = []
    results = []
    for item in params["messages"]:
        touserid = item["touserid"]
        if touserid not in allowed:
            results.append({"msgid": -1, "clientmsgid": item.get("clientmsgid"),
                            "errormessage": REFUSED, "candeletemessagesforallusers": False})
            continue
        now = call.now
        if touserid not in conversations:
            if first_convid is None:
                first_convid = db.next_id("message_conversations")
            convid = first_convid + len(new_conversations)
            conversations[touserid] = convid
            new_conversations.append((1, _convhash(sender, touserid), now))
            members.extend((convid, member) for member in {sender, touserid})
        convid = conversations[touserid]
        text = item["text"]
        plain = item["textformat"] != FORMAT_HTML
        rows.append((sender, convid, subject, text if plain else html_to_text(text),
                     FORMAT_PLAIN if plain else FORMAT_HTML, "" if plain else text, text, now))
        result = {"msgid": 0, "clientmsgid": item.get("clientmsgid"),
                  "text": plain_to_html(text) if plain else text, "timecreated": now,
                  "conversationid": convid, "useridfrom": sender,
                  "candeletemessagesforallusers": call.is_admin}
        sent.append(result)
        results.append(result)
    db.insert_many("message_conversations", ("type", "convhash", "timecreated"),
                   new_conversations, first_convid)
    db.insert_many("message_conversation_members", ("conversationid", "userid"), members)
    for result, msgid in zip(sent, db.insert_many("messages", MESSAGE_COLUMNS, rows),
                             strict=True):
        result["msgid"] = msgid
    return results


def _html(row: dict[str, Any]) -> str:
    if row["fullmessageformat"] == FORMAT_HTML:
        return str(row["fullmessagehtml"])
    return plain_to_html(row["fullmessage"])


@area.function("core_message_get_messages",
               {"useridto": req("int"), "useridfrom": dflt("int", 0),
                "type": dflt("alphanumext", "both"), "read": dflt("int", 1),
                "newestfirst": dflt("bool", True), "limitfrom": dflt("int", 0),
                "limitnum": dflt("int", 0)})
def get_messages(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Messages between users; ``read`` 0 unread only, 1 read only, 2 both."""
    sql = ("SELECT m.*, mb.userid AS useridto, a.timecreated AS timeread FROM messages m "
           "JOIN message_conversation_members mb ON mb.conversationid = m.conversationid "
           "AND mb.userid <> m.useridfrom LEFT JOIN message_user_actions a "
           "ON a.messageid = m.id AND a.userid = mb.userid AND a.action = 1 WHERE 1 = 1")
    args: list[Any] = []
    if params["useridto"]:
        sql += " AND mb.userid = ?"
        args.append(params["useridto"])
    if params["useridfrom"]:
        sql += " AND m.useridfrom = ?"
        args.append(params["useridfrom"])
    if params["read"] == 0:
        sql += " AND a.id IS NULL"
    elif params["read"] == READ:
        sql += " AND a.id IS NOT NULL"
    sql += " ORDER BY m.timecreated DESC, m.id DESC" if params["newestfirst"] else \
        " ORDER BY m.timecreated, m.id"
    rows = call.db.all(sql, args)[params["limitfrom"]:]
    if params["limitnum"]:
        rows = rows[: params["limitnum"]]
    return {"messages": [_message(call, row) for row in rows], "warnings": []}


def _message(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    sender = must_get(call.db, "user", row["useridfrom"])
    recipient = must_get(call.db, "user", row["useridto"])
    icon = f"{call.site_url}/theme/image.php/boost/core/{THEME_REV}/u/f1"
    customdata = {"notificationiconurl": icon, "actionbuttons": {"send": "Send"},
                  "placeholders": {"send": "Write a message..."}, "courseid": 1}
    return {
        "id": row["id"], "useridfrom": row["useridfrom"], "useridto": row["useridto"],
        "subject": row["subject"], "text": _html(row), "fullmessage": row["fullmessage"],
        "fullmessageformat": row["fullmessageformat"],
        "fullmessagehtml": row["fullmessagehtml"], "smallmessage": row["smallmessage"],
        "notification": 0, "contexturl": "", "contexturlname": "",
        "timecreated": row["timecreated"], "timeread": row["timeread"],
        "usertofullname": fullname(recipient), "userfromfullname": fullname(sender),
        "customdata": php_json(customdata),
    }


def _member(call: Call, user: dict[str, Any], *, self_view: bool) -> dict[str, Any]:
    pictures = picture_urls(call.site_url)
    unknown = None if self_view else False
    return {
        "id": user["id"], "fullname": fullname(user),
        "profileurl": f"{call.site_url}/user/profile.php?id={user['id']}",
        "profileimageurl": pictures["profileimageurl"],
        "profileimageurlsmall": pictures["profileimageurlsmall"], "isonline": False,
        "showonlinestatus": True, "isblocked": False, "iscontact": False, "isdeleted": False,
        "canmessageevenifblocked": unknown, "canmessage": None if self_view else True,
        "requirescontact": unknown, "cancreatecontact": False, "contactrequests": [],
    }


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "useridfrom": row["useridfrom"], "text": _html(row),
            "timecreated": row["timecreated"]}


@area.function("core_message_get_conversations",
               {"userid": req("int"), "limitfrom": dflt("int", 0), "limitnum": dflt("int", 0),
                "type": opt("int"), "favourites": opt("bool"), "mergeself": dflt("bool", False)})
def get_conversations(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """The user's conversations, latest activity first, each with its last message."""
    convs = call.db.all(
        "SELECT c.id, c.type, MAX(m.timecreated) AS latest, MAX(m.id) AS lastid "
        "FROM message_conversations c JOIN message_conversation_members mb "
        "ON mb.conversationid = c.id AND mb.userid = ? JOIN messages m ON m.conversationid = c.id "
        "GROUP BY c.id ORDER BY latest DESC, c.id DESC", (params["userid"],))
    if params.get("type"):
        convs = [conv for conv in convs if conv["type"] == params["type"]]
    convs = convs[params["limitfrom"]:]
    if params["limitnum"]:
        convs = convs[: params["limitnum"]]
    out = []
    for conv in convs:
        others = call.db.all(
            "SELECT u.* FROM message_conversation_members mb JOIN user u ON u.id = mb.userid "
            "WHERE mb.conversationid = ? AND mb.userid <> ?", (conv["id"], params["userid"]))
        last = must_get(call.db, "messages", conv["lastid"])
        unread = call.db.scalar(
            "SELECT COUNT(*) FROM messages m WHERE m.conversationid = ? AND m.useridfrom <> ? "
            "AND NOT EXISTS (SELECT 1 FROM message_user_actions a WHERE a.messageid = m.id "
            "AND a.userid = ?)", (conv["id"], params["userid"], params["userid"]))
        out.append({
            "id": conv["id"], "name": "", "subname": None, "imageurl": None,
            "type": conv["type"], "membercount": len(others) + 1, "ismuted": False,
            "isfavourite": False, "isread": not unread, "unreadcount": unread or None,
            "members": [_member(call, other, self_view=False) for other in others],
            "messages": [_brief(last)], "candeletemessagesforallusers": call.is_admin,
        })
    return {"conversations": out}


@area.function("core_message_get_conversation_messages",
               {"currentuserid": req("int"), "convid": req("int"), "limitfrom": dflt("int", 0),
                "limitnum": dflt("int", 0), "newest": dflt("bool", False),
                "timefrom": dflt("int", 0)})
def get_conversation_messages(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """Messages of one conversation, with the members who wrote them."""
    must_get(call.db, "message_conversations", params["convid"])
    order = "DESC" if params["newest"] else "ASC"
    rows = call.db.all(
        f"SELECT * FROM messages WHERE conversationid = ? AND timecreated >= ? "  # noqa: S608
        f"ORDER BY timecreated {order}, id {order}", (params["convid"], params["timefrom"]))
    rows = rows[params["limitfrom"]:]
    if params["limitnum"]:
        rows = rows[: params["limitnum"]]
    senders = sorted({row["useridfrom"] for row in rows})
    members = [_member(call, must_get(call.db, "user", sender),
                       self_view=sender == params["currentuserid"]) for sender in senders]
    return {"id": params["convid"], "members": members, "messages": [_brief(r) for r in rows]}
