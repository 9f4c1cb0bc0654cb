"""The framework applier's create phase: a lane starts once its parent exists, siblings keep
the source order, and after a failure no deeper lane starts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import select

import store
from connector import errors as e
from connector.moodle import endpoints as ep
from connector.pacing import CallStats
from store.models import SyncStep
from sync.apply import Applier, StagedApplier
from sync.plan import CreateCompetency, CreateFramework, Plan, UpdateCompetency, UpdateFramework

FW = "FW"


@dataclass
class Created:
    id: int
    idnumber: str
    parentid: int
    at: float


class FakeMoodle:
    """Creates frameworks and competencies after a short delay, up to ``concurrency`` at once;
    records each create, and fails the create of ``fail`` (an idnumber)."""

    def __init__(self, concurrency: int = 4, delay: float = 0.01, fail: str = "") -> None:
        self.stats = CallStats()
        self.concurrency = concurrency
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()
        self.competencies: list[Created] = []
        self.started: list[tuple[float, str]] = []  # (when, idnumber) of each create asked
        self.failed_at = float("inf")
        self.next_id = 100

    def _new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id

    def create_framework(self, fields: ep.FrameworkFields) -> SimpleNamespace:
        time.sleep(self.delay)
        return SimpleNamespace(id=self._new_id())

    def update_framework(self, fields: ep.FrameworkFields) -> None:
        time.sleep(self.delay)

    def create_competency(self, fields: ep.CompetencyFields) -> SimpleNamespace:
        with self.lock:
            self.started.append((time.monotonic(), str(fields.idnumber)))
        time.sleep(self.delay)
        if fields.idnumber == self.fail:
            self.failed_at = time.monotonic()
            raise e.LmsResponseError("boom")
        with self.lock:
            parents = {c.id for c in self.competencies}
            assert fields.parentid == 0 or fields.parentid in parents  # the parent exists
        created = Created(self._new_id(), str(fields.idnumber), int(fields.parentid or 0),
                          time.monotonic())
        with self.lock:
            self.competencies.append(created)
        return SimpleNamespace(id=created.id)

    def update_competency(self, fields: ep.CompetencyFields) -> None:
        time.sleep(self.delay)


def tree(areas: int = 4, children: int = 3, grandchildren: int = 2) -> list[CreateCompetency]:
    """A framework's creates in plan order: stage 1000 + depth, parents before children."""
    ops: list[CreateCompetency] = []
    levels: list[list[CreateCompetency]] = [[], [], []]
    for a in range(areas):
        area = f"A{a}"
        levels[0].append(create(area, None, 1))
        for c in range(children):
            child = f"{area}.{c}"
            levels[1].append(create(child, area, 2))
            for g in range(grandchildren):
                levels[2].append(create(f"{child}.{g}", child, 3))
    for level in levels:
        ops.extend(level)
    return ops


def create(idnumber: str, parent: str | None, depth: int) -> CreateCompetency:
    return CreateCompetency(FW, idnumber, 1_000 + depth, "new", parent=parent,
                            values={"shortname": idnumber, "idnumber": idnumber})


def framework_create() -> CreateFramework:
    return CreateFramework(FW, FW, 0, "new", values={"shortname": FW, "idnumber": FW,
                                                     "scaleid": 2, "contextid": 1})


@pytest.fixture
def sessions(tmp_path):
    engine = store.create_engine(f"sqlite:///{tmp_path}/state.sqlite")
    store.migrate(engine)
    yield store.session_factory(engine)
    engine.dispose()


def apply(moodle: FakeMoodle, sessions, ops) -> object:
    plan = Plan(site="https://lms.example.org", ops=tuple(ops), basis={FW: ""})
    applier = Applier(moodle, sessions, "https://lms.example.org")  # type: ignore[arg-type]
    return applier.apply(plan, {FW: None})


def test_the_creates_run_as_one_phase_each_lane_once_its_parent_exists(sessions) -> None:
    moodle = FakeMoodle()
    ops = [framework_create(), *tree()]
    result = apply(moodle, sessions, ops)

    assert result.ok and result.count("done") == len(ops)
    by_id = {c.id: c for c in moodle.competencies}
    made = {c.idnumber: c for c in moodle.competencies}
    # siblings were created in source order (Moodle appends each after its siblings)
    for parent in {c.parentid for c in moodle.competencies}:
        siblings = [c.idnumber for c in moodle.competencies if c.parentid == parent]
        assert siblings == sorted(siblings)
    # every competency after its parent, and deeper lanes did not wait for their whole stage:
    # the first area's children were created before the last area was
    for c in moodle.competencies:
        if c.parentid:
            assert by_id[c.parentid].at <= c.at
    assert made["A0.0"].at < made["A3"].at
    # the journal holds every step
    with store.session_scope(sessions) as session:
        steps = session.scalars(select(SyncStep).where(SyncStep.run_id == result.run_id))
        assert len(list(steps)) == len(ops)


def test_after_a_failed_create_no_deeper_lane_starts_and_later_stages_do_not_run(
        sessions) -> None:
    moodle = FakeMoodle(concurrency=2, fail="A1")
    later = UpdateCompetency(FW, "A0", 3_000, "changed", lms_id=5)
    result = apply(moodle, sessions, [framework_create(), *tree(), later])

    assert not result.ok
    assert [o.op.idnumber for o in result.failed] == ["A1"]
    made = {c.idnumber for c in moodle.competencies}
    assert "A0" in made and "A2" not in made  # the failing lane stopped at its failure
    assert not {m for m in made if m.startswith("A1")}  # nothing under the failed one
    # after the failure, no create deeper than the failed one's level was asked for
    assert all("." not in idnumber for when, idnumber in moodle.started
               if when > moodle.failed_at)
    assert later not in [o.op for o in result.outcomes]  # the later stage did not run


def test_a_framework_update_runs_alone_before_the_creates(sessions) -> None:
    moodle = FakeMoodle()
    update = UpdateFramework(FW, FW, 0, "changed", lms_id=7)
    plan = Plan(site="s", ops=(update, *tree(areas=2)), basis={FW: ""})
    applier = Applier(moodle, sessions, "s")  # type: ignore[arg-type]
    phases = applier.phases(plan)
    assert phases[0] == [update]
    assert len(phases) == 2 and len(phases[1]) == len(tree(areas=2))


def test_other_appliers_keep_one_phase_a_stage_with_lanes_that_never_wait(sessions) -> None:
    plan = Plan(site="s", ops=(framework_create(), *tree(areas=2)), basis={FW: ""})
    staged: StagedApplier[None] = StagedApplier(FakeMoodle(), sessions, "s")  # type: ignore[arg-type]
    assert staged.phases(plan) == plan.stages()
    assert all(staged.needs(op) is None for op in plan.changes)
