"""What Moodle and the store hold for a set of goals, read in as few calls as Moodle allows.

Users are looked up in batches (one call per ~1,000 values under max_input_vars); the
competencies of the configured frameworks in one call per framework; a goal's plan by its id
when the store remembers it (one ``list_user_plans`` instead when an employee has several),
and an employee's plans listed only when the store lacks one of their goals; then each plan's
competencies. Every problem that the export causes (unknown employee, manager or competency,
an idnumber in two frameworks) is raised with its file and line before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

import store
from connector import errors as e
from connector.moodle import endpoints as ep
from connector.moodle import models as m
from connector.moodle.client import MoodleClient
from connector.moodle.text import same_name
from sync.errors import SourceError, SourceProblem
from sync.goals.model import Goal, GoalStatus
from sync.goals.ops import PLAN_KIND, ROLE_KIND, ManagerPair, plan_key

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Stored:
    """What the store remembers of one goal's plan."""

    plan_id: int
    fingerprint: str | None


@dataclass
class GoalsActual:
    """Moodle's side of every goal: people, competencies, plans, and the store's records."""

    employees: dict[str, m.User] = field(default_factory=dict)
    managers: dict[str, m.User] = field(default_factory=dict)
    competencies: dict[str, dict[str, int]] = field(default_factory=dict)  # idnumber -> fw -> id
    plans: dict[str, m.Plan] = field(default_factory=dict)  # goal id -> plan
    adopted: set[str] = field(default_factory=set)  # goal ids whose plan was found by name
    deleted: set[str] = field(default_factory=set)  # goal ids whose remembered plan is gone
    plan_competencies: dict[int, tuple[m.PlanCompetency, ...]] = field(default_factory=dict)
    stored: dict[str, Stored] = field(default_factory=dict)  # plan key -> record
    stored_roles: dict[str, ManagerPair] = field(default_factory=dict)

    def competency_ids(self, plan_id: int) -> list[int]:
        return [item.competency.id for item in self.plan_competencies.get(plan_id, ())]


def gather(client: MoodleClient, call: Callable[[T], R],
           items: Sequence[T]) -> list[R | e.LmsError]:
    """``call`` for each item concurrently; an LMS error is returned in its place."""
    def one(item: T) -> R | e.LmsError:
        try:
            return call(item)
        except e.LmsError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=client.concurrency) as pool:
        return list(pool.map(one, items))


def _key(field_name: str, value: str) -> str:
    return value.strip().lower() if field_name == "email" else value.strip()


def find_users(client: MoodleClient, field_name: ep.UserField,
               values: Iterable[str]) -> dict[str, m.User]:
    """Users by ``field_name``, keyed as the export wrote them (emails case-insensitive)."""
    wanted = sorted({v for v in values if v})
    if not wanted:
        return {}
    found = {_key(field_name, str(getattr(u, field_name))): u
             for u in client.users_by_field(field_name, wanted)}
    return {value: found[_key(field_name, value)] for value in wanted
            if _key(field_name, value) in found}


def read_competencies(client: MoodleClient,
                      frameworks: Sequence[str]) -> dict[str, dict[str, int]]:
    """Every competency of the named frameworks (all when none are named): idnumber ->
    framework idnumber -> Moodle id. One call for the list, one per framework."""
    listed = client.list_frameworks()
    chosen = [fw for fw in listed if not frameworks or fw.idnumber in frameworks]
    missing = sorted(set(frameworks) - {fw.idnumber for fw in listed})
    if missing:
        raise SourceError([SourceProblem("goals.frameworks", f"no framework with idnumber "
                                         f"{idnumber!r} in Moodle") for idnumber in missing])
    trees = client.map(ep.LIST_COMPETENCIES, [ep.ListCompetencies(
        filters=[ep.Filter(column="competencyframeworkid", value=fw.id)]) for fw in chosen])
    index: dict[str, dict[str, int]] = {}
    for fw, tree in zip(chosen, trees, strict=True):
        for row in tree:
            index.setdefault(row.idnumber, {})[fw.idnumber] = row.id
    return index


def resolve_competency(ref: str, index: dict[str, dict[str, int]]) -> tuple[str, int] | str:
    """(framework idnumber, Moodle id) for ``ref``, or why it cannot be resolved."""
    head, sep, tail = ref.partition(":")
    if sep and tail in index and head in index[tail]:
        return head, index[tail][head]
    places = index.get(ref, {})
    if len(places) == 1:
        [(framework, competency_id)] = places.items()
        return framework, competency_id
    if places:
        options = " or ".join(f"{fw}:{ref}" for fw in sorted(places))
        return f"competency {ref} is in {len(places)} frameworks; write {options}"
    return f"no competency with idnumber {ref!r} in the frameworks searched"


def check_people_and_competencies(goals: Sequence[Goal], actual: GoalsActual) -> None:
    """Raise SourceError naming each goal's unknown employee, manager or competency."""
    problems = []
    for goal in goals:
        where = f"goal {goal.goal_id}"
        if goal.employee not in actual.employees:
            problems.append(SourceProblem(goal.file, f"{where}: no Moodle user with employee "
                                          f"{goal.employee!r}", goal.line))
        if goal.manager and goal.manager not in actual.managers:
            problems.append(SourceProblem(goal.file, f"{where}: no Moodle user with manager "
                                          f"{goal.manager!r}", goal.line))
        for ref in goal.competencies:
            found = resolve_competency(ref, actual.competencies)
            if isinstance(found, str):
                problems.append(SourceProblem(goal.file, f"{where}: {found}", goal.line))
    if problems:
        raise SourceError(problems)


def read_store(sessions: sessionmaker[Session], site: str, actual: GoalsActual) -> None:
    with store.session_scope(sessions) as session:
        rows = store.objects_by_external_id(session, site, PLAN_KIND)
        roles = store.objects_by_external_id(session, site, ROLE_KIND)
    actual.stored = {key: Stored(row.lms_id, row.fingerprint) for key, row in rows.items()}
    for key in roles:
        employee, manager, role = (int(part) for part in key.split(":"))
        actual.stored_roles[key] = ManagerPair(employee, manager, role)


def read_plans(client: MoodleClient, goals: Sequence[Goal], actual: GoalsActual) -> None:
    """Each goal's plan (by id, or by listing the employee's plans), then their competencies."""
    by_user: dict[int, list[Goal]] = {}
    for goal in goals:
        by_user.setdefault(actual.employees[goal.employee].id, []).append(goal)
    singles: list[tuple[Goal, int]] = []
    listed: list[int] = []
    for user_id, own in by_user.items():
        known = [g for g in own if plan_key(g.goal_id, user_id) in actual.stored]
        if len(known) == 1 and len(own) == 1:
            singles.append((own[0], actual.stored[plan_key(own[0].goal_id, user_id)].plan_id))
        else:
            listed.append(user_id)
    for (goal, _), answer in zip(singles, gather(client, client.read_plan,
                                                 [plan_id for _, plan_id in singles]),
                                 strict=True):
        _take_read(goal, answer, actual)
    claimed = {s.plan_id for s in actual.stored.values()}
    for user_id, listing in zip(listed, gather(client, client.user_plans, listed),
                                strict=True):
        if isinstance(listing, e.LmsError):
            raise listing
        _take_listed(by_user[user_id], user_id, listing, claimed, actual)
    wanted = [p.id for p in actual.plans.values()]
    for plan_id, items in zip(wanted, gather(client, client.plan_competencies, wanted),
                              strict=True):
        if isinstance(items, e.LmsError):
            raise items
        actual.plan_competencies[plan_id] = tuple(items)


def _take_read(goal: Goal, answer: m.Plan | e.LmsError, actual: GoalsActual) -> None:
    if isinstance(answer, e.RecordNotFoundError):
        actual.deleted.add(goal.goal_id)
    elif isinstance(answer, e.LmsError):
        raise answer
    else:
        actual.plans[goal.goal_id] = answer


def _take_listed(own: list[Goal], user_id: int, plans: list[m.Plan], claimed: set[int],
                 actual: GoalsActual) -> None:
    by_id = {p.id: p for p in plans}
    for goal in own:
        stored = actual.stored.get(plan_key(goal.goal_id, user_id))
        if stored is not None:
            if stored.plan_id in by_id:
                actual.plans[goal.goal_id] = by_id[stored.plan_id]
            else:
                actual.deleted.add(goal.goal_id)
            continue
        if goal.status is GoalStatus.WITHDRAWN:
            continue
        same = [p for p in plans if p.id not in claimed and _same_title(p.name, goal.title)]
        if len(same) == 1:
            actual.plans[goal.goal_id] = same[0]
            actual.adopted.add(goal.goal_id)
            claimed.add(same[0].id)


def _same_title(stored: str, title: str) -> bool:
    return same_name(title, stored)
