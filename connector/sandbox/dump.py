"""The sandbox's state for people: frameworks as trees, course links, plans, messages, events."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.tree import Tree

from connector.sandbox.exporters import PLAN_STATUS_NAMES, fullname
from connector.sandbox.state import Db


def _tree(rows: list[dict[str, Any]], parentid: int) -> list[dict[str, Any]]:
    children = sorted((r for r in rows if r["parentid"] == parentid),
                      key=lambda r: (r["sortorder"], r["id"]))
    return [{"id": r["id"], "idnumber": r["idnumber"], "shortname": r["shortname"],
             "children": _tree(rows, r["id"])} for r in children]


def dump_state(db: Db) -> dict[str, Any]:
    """Everything lms-sidecar writes, as plain JSON-ready data."""
    frameworks = []
    for fw in db.all("SELECT * FROM competency_framework ORDER BY id"):
        rows = db.all("SELECT * FROM competency WHERE competencyframeworkid = ?", (fw["id"],))
        frameworks.append({"id": fw["id"], "idnumber": fw["idnumber"],
                           "shortname": fw["shortname"], "competencies": _tree(rows, 0)})
    links = db.all(
        "SELECT cc.id, c.id AS courseid, c.shortname AS course, k.idnumber AS competency, "
        "cc.ruleoutcome FROM competency_coursecomp cc JOIN course c ON c.id = cc.courseid "
        "JOIN competency k ON k.id = cc.competencyid ORDER BY c.id, cc.sortorder")
    plans = []
    for plan in db.all("SELECT p.*, u.firstname, u.lastname FROM competency_plan p "
                       "JOIN user u ON u.id = p.userid ORDER BY p.id"):
        comps = db.all("SELECT k.idnumber FROM competency_plancomp pc JOIN competency k "
                       "ON k.id = pc.competencyid WHERE pc.planid = ? ORDER BY pc.sortorder",
                       (plan["id"],))
        plans.append({"id": plan["id"], "name": plan["name"], "userid": plan["userid"],
                      "user": fullname(plan), "status": PLAN_STATUS_NAMES[plan["status"]],
                      "duedate": plan["duedate"],
                      "competencies": [c["idnumber"] for c in comps]})
    messages = db.all(
        "SELECT m.id, m.useridfrom, mb.userid AS useridto, m.smallmessage AS text, "
        "m.timecreated FROM messages m JOIN message_conversation_members mb "
        "ON mb.conversationid = m.conversationid AND mb.userid <> m.useridfrom ORDER BY m.id")
    events = db.all("SELECT id, name, eventtype, courseid, userid, timestart, timeduration "
                    "FROM event ORDER BY timestart, id")
    counts = {table: db.scalar(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
              for table in ("user", "course", "user_enrolments", "course_completions")}
    counts["completed"] = db.scalar(
        "SELECT COUNT(*) FROM course_completions WHERE timecompleted IS NOT NULL")
    return {"counts": counts, "frameworks": frameworks, "course_competencies": links,
            "plans": plans, "messages": messages, "calendar_events": events}


def _add_nodes(node: Tree, items: list[dict[str, Any]]) -> None:
    for item in items:
        child = node.add(f"[bold]{item['idnumber']}[/] {item['shortname']}")
        _add_nodes(child, item["children"])


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(value) for value in row])
    return table


def render_dump(data: dict[str, Any], console: Console) -> None:
    """Print the dump with rich: trees for frameworks, tables for the rest."""
    counts = data["counts"]
    console.print(f"[bold]Site[/]: {counts['user']} users, {counts['course']} courses, "
                  f"{counts['user_enrolments']} enrolments, {counts['completed']} completions")
    for fw in data["frameworks"]:
        tree = Tree(f"[bold magenta]{fw['idnumber']}[/] {fw['shortname']}")
        _add_nodes(tree, fw["competencies"])
        console.print(tree)
    outcomes = {0: "none", 1: "evidence", 2: "recommend", 3: "complete"}
    console.print(Group(
        _table("Course competencies", ["course", "competency", "rule outcome"],
               [[r["course"], r["competency"], outcomes.get(r["ruleoutcome"], "?")]
                for r in data["course_competencies"]]),
        _table("Learning plans", ["id", "learner", "name", "status", "competencies"],
               [[p["id"], p["user"], p["name"], p["status"], ", ".join(p["competencies"])]
                for p in data["plans"]]),
        _table("Messages", ["id", "from", "to", "text"],
               [[m["id"], m["useridfrom"], m["useridto"], m["text"][:60]]
                for m in data["messages"]]),
        _table("Calendar events", ["id", "name", "type", "course", "user", "start"],
               [[e["id"], e["name"], e["eventtype"], e["courseid"], e["userid"], e["timestart"]]
                for e in data["calendar_events"]]),
    ))
