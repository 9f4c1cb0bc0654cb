"""What the recorder did outside the recorded calls, redone before the exchange that needs it."""

from __future__ import annotations

import json
from collections.abc import Callable

from connector.sandbox import control
from connector.sandbox.app import state_of
from tests.conftest import exchange
from tests.unit.sandbox.replay import KOFI_PASSWORD, RUN2, Replay

SCALE = ('[{"scaleid": "2"}, {"id": 1, "scaledefault": 1, "proficient": 0}, '
         '{"id": 2, "scaledefault": 0, "proficient": 1}]')
LEAD_TREE = [  # recorded id, idnumber stem, short name, recorded parent id
    (334, "F1", "Führung", 0), (335, "F2", "Selbstmanagement", 0),
    (336, "F3", "Arbeitssicherheit", 0), (337, "F1.1", "Mitarbeitende entwickeln", 334),
    (338, "F1.2", "Entscheiden", 334), (339, "F1.3", "Konflikte lösen", 334),
    (340, "F1.1.1", "Feedback geben", 337), (341, "F1.1.2", "Ziele vereinbaren", 337),
    (342, "F2.1", "Zeitmanagement", 335), (343, "F2.2", "Stressbewältigung", 335),
    (344, "F3.1", "Erste Hilfe leisten", 336),
]


def _control(replay: Replay, action: Callable[..., object], *args: object) -> object:
    state = state_of(replay.app)
    with state.transaction() as db:
        return action(db, *args)


def self_completion_on_course_2(replay: Replay) -> None:
    """The recorder ticked "Self completion" in course 2's completion settings."""
    _control(replay, control.enable_self_completion, replay.map("course", 2))
    replay.token_for("<STUDENT_TOKEN>", replay.map("user", 3))


def run_cron(replay: Replay) -> None:
    """Moodle's completion task ran before the status was read again."""
    _control(replay, control.run_cron)


def _framework(replay: Replay, recorded: int, shortname: str, idnumber: str,
               taxonomies: str) -> int:
    created = replay.admin(
        "core_competency_create_competency_framework",
        **{"competencyframework[shortname]": shortname, "competencyframework[idnumber]": idnumber,
           "competencyframework[scaleid]": 2, "competencyframework[scaleconfiguration]": SCALE,
           "competencyframework[contextid]": 1, "competencyframework[taxonomies]": taxonomies})
    replay.ids[("framework", recorded)] = created["id"]
    return int(created["id"])


def _competency(replay: Replay, recorded: int, frameworkid: int, idnumber: str, name: str,
                parent: int) -> None:
    created = replay.admin(
        "core_competency_create_competency",
        **{"competency[shortname]": name, "competency[idnumber]": idnumber,
           "competency[competencyframeworkid]": frameworkid,
           "competency[parentid]": replay.map("competency", parent) if parent else 0})
    replay.ids[("competency", recorded)] = created["id"]


def _users(replay: Replay) -> None:
    recorded = json.loads(exchange("150").body)
    for user in recorded:
        params = {"users[0][username]": user["username"], "users[0][firstname]": user["firstname"],
                  "users[0][lastname]": user["lastname"], "users[0][email]": user["email"],
                  "users[0][password]": KOFI_PASSWORD if user["id"] == 58 else "Learner#2024pw"}
        if "idnumber" in user:
            params["users[0][idnumber]"] = user["idnumber"]
        created = replay.admin("core_user_create_users", **params)
        replay.ids[("user", user["id"])] = created[0]["id"]


def _plans(replay: Replay) -> None:
    learner = replay.map("user", 55)
    plans = [(6, "Entwicklungsplan Amélie 2025", "Erster Entwurf", 0, 0, [338, 341, 342]),
             (7, "Onboarding-Plan Amélie", "", 1, 1803087274, [339]),
             (8, "Karriereplan (Entwurf)", "", 0, 0, [])]
    for recorded, name, description, status, duedate, competencies in plans:
        created = replay.admin("core_competency_create_plan", **{
            "plan[name]": name, "plan[description]": description, "plan[userid]": learner,
            "plan[status]": status, "plan[duedate]": duedate})
        replay.ids[("plan", recorded)] = created["id"]
        for comp in competencies:
            replay.admin("core_competency_add_competency_to_plan", planid=created["id"],
                         competencyid=replay.map("competency", comp))


def second_run(replay: Replay) -> None:
    """Run 2's fixtures: 50 users, tokens, frameworks 6 (11) and 7 (250), courses, plans."""
    _users(replay)
    _control(replay, control.create_service, "Limited", "limited",
             ["core_webservice_get_site_info", "core_competency_list_competency_frameworks"])
    replay.token_for("<LIMITED_TOKEN>", 2, "limited")
    replay.token_for("<MANAGER_TOKEN>", replay.map("user", 57))
    replay.token_for("<OTHER_USER_TOKEN>", replay.map("user", 56))
    lead = _framework(replay, 6, f"Führung & Selbstmanagement {RUN2}", f"LEAD-{RUN2}",
                      "domain,competency,skill")
    for recorded, stem, name, parent in LEAD_TREE:
        _competency(replay, recorded, lead, f"{stem}-{RUN2}", name, parent)
    skills = _framework(replay, 7, f"Skills {RUN2}", f"SKL-{RUN2}", "domain,skill")
    for domain in range(1, 11):
        root = 345 + 25 * (domain - 1)
        _competency(replay, root, skills, f"SKL-{RUN2}-D{domain:02d}",
                    f"Domäne {domain:02d} \u2013 Fachbereich {chr(64 + domain)}", 0)
        for skill in range(1, 25):
            _competency(replay, root + skill, skills, f"SKL-{RUN2}-D{domain:02d}-S{skill:02d}",
                        f"Fähigkeit {domain:02d}.{skill:02d} (Stufe {(skill - 1) % 4 + 1})", root)
    for course in json.loads(exchange("151").body)["courses"]:
        created = replay.admin("core_course_create_courses", **{
            "courses[0][fullname]": course["fullname"],
            "courses[0][shortname]": course["shortname"],
            "courses[0][idnumber]": course["idnumber"], "courses[0][categoryid]": 1,
            "courses[0][startdate]": course["startdate"], "courses[0][enablecompletion]": 1})
        replay.ids[("course", course["id"])] = created[0]["id"]
    safety = replay.map("course", 8)
    replay.admin("core_competency_add_competency_to_course", courseid=safety,
                 competencyid=replay.map("competency", 344))
    _plans(replay)
    for index, learner in enumerate((55, 56, 59)):
        replay.admin("enrol_manual_enrol_users", **{
            f"enrolments[{index}][roleid]": 5, f"enrolments[{index}][courseid]": safety,
            f"enrolments[{index}][userid]": replay.map("user", learner)})
    _control(replay, control.enable_self_completion, safety)
    replay.token_for("<AMELIE_TOKEN>", replay.map("user", 55))
    replay.ws(replay.tokens["<AMELIE_TOKEN>"], "core_completion_mark_course_self_completed",
              [("courseid", str(safety))])
    _control(replay, control.run_cron)
    now = state_of(replay.app).clock.now()
    for offset, course in ((0, 8), (1, 9)):
        _control(replay, control.record_course_visit, now + offset, replay.map("user", 55),
                 replay.map("course", course))
    report = _control(replay, control.create_report, now, f"Kursabschlüsse SAFE-{RUN2}",
                      f"SAFE-{RUN2}")
    replay.ids[("report", 4)] = int(str(report))


BEFORE: dict[str, Callable[[Replay], None]] = {
    "60": self_completion_on_course_2,
    "62": run_cron,
    "89": second_run,
}
