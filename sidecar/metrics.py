"""Prometheus metrics at ``/metrics``: LMS calls, sync runs, inbox depth, follow-ups, errors.

Counters of work done in this process (LMS calls by function and outcome, errors logged)
are prometheus_client counters; under gunicorn they are summed across workers with the
library's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by ``sidecar serve``).
Numbers that live in the database (runs, inbox, follow-up queue) are read from the store
at scrape time, so every worker and instance reports the same truth. Features add theirs
with :func:`register_gauge`. No label ever holds a secret, a URL or a person's data.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from flask import Blueprint, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import store
from store import models as store_models

_COUNTERS: dict[str, Counter] = {}
_COUNTER_HELP = {
    "sidecar_lms_calls": ("Web-service calls made, by function and outcome",
                          ("function", "outcome")),
    "sidecar_errors": ("Errors logged, by the part of lms-sidecar that logged them",
                       ("component",)),
}


def counter(name: str) -> Counter:
    """A process counter, created on first use: under gunicorn that is in the worker, after
    :func:`enable_multiprocess` chose the shared-file storage."""
    if name not in _COUNTERS:
        help_text, labels = _COUNTER_HELP[name]
        _COUNTERS[name] = Counter(name, help_text, labels)
    return _COUNTERS[name]


def enable_multiprocess(directory: str) -> None:
    """Keep counters in files under ``directory`` so that every gunicorn worker's counts add
    up at ``/metrics``; call before any counter is created (``sidecar serve`` does)."""
    from prometheus_client import values

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def worker_exited(pid: int) -> None:
    """Tell the multiprocess storage that a worker is gone (gunicorn's child_exit hook)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]

#: (metric name, help, function(session) -> [(labels, value)]) read from the store per scrape.
Rows = Iterable[tuple[dict[str, str], float]]


@dataclass(frozen=True)
class StoreGauge:
    name: str
    help: str
    rows: Callable[[Session], Rows]


GAUGES: list[StoreGauge] = []


def register_gauge(name: str, help_text: str, rows: Callable[[Session], Rows]) -> None:
    """Add a gauge read from the store at every scrape (registering a name again replaces it)."""
    GAUGES[:] = [g for g in GAUGES if g.name != name]
    GAUGES.append(StoreGauge(name, help_text, rows))


def observe_call(function: str, outcome: str) -> None:
    """Count one finished LMS call (the client's ``CallStats`` observer)."""
    counter("sidecar_lms_calls").labels(function=function, outcome=outcome).inc()


class ErrorCounter(logging.Handler):
    """Counts ERROR records per top-level package (sync, webhooks, connector, ...)."""

    def emit(self, record: logging.LogRecord) -> None:
        counter("sidecar_errors").labels(component=record.name.split(".", 1)[0]).inc()


def _runs(session: Session) -> Rows:
    rows = session.execute(select(store.SyncRun.kind, store.SyncRun.status,
                                  func.count(store.SyncRun.id))
                           .group_by(store.SyncRun.kind, store.SyncRun.status))
    return [({"kind": kind, "status": status}, float(count)) for kind, status, count in rows]


def _by_status(model: type[store.Base]) -> Callable[[Session], Rows]:
    def rows(session: Session) -> Rows:
        column = model.status  # type: ignore[attr-defined]
        found = session.execute(select(column, func.count()).group_by(column))
        return [({"status": status}, float(count)) for status, count in found]

    return rows


def _due_tasks(session: Session) -> Rows:
    task = store_models.FollowupTask
    count = session.scalar(select(func.count(task.id)).where(
        task.status == store_models.TaskStatus.SCHEDULED.value,
        task.due_at <= store_models.utcnow())) or 0
    return [({}, float(count))]


register_gauge("sidecar_sync_runs", "Sync runs recorded in the store, by kind and status", _runs)
register_gauge("sidecar_inbox_events", "Completion events in the inbox, by status",
               _by_status(store_models.InboxEvent))
register_gauge("sidecar_followup_tasks", "Follow-up practice tasks, by status",
               _by_status(store_models.FollowupTask))
register_gauge("sidecar_followup_tasks_due", "Follow-up tasks due now and not sent yet",
               _due_tasks)


class StoreCollector(Collector):
    """Reads the registered gauges from the store at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with store.session_scope(store.session_factory(self.engine)) as session:
            for gauge in GAUGES:
                rows = list(gauge.rows(session))
                labels = sorted({key for found, _ in rows for key in found})
                family = GaugeMetricFamily(gauge.name, gauge.help, labels=labels)
                for found, value in rows:
                    family.add_metric([found.get(k, "") for k in labels], value)
                yield family


def metrics_blueprint(engine: Engine) -> Blueprint:
    """``GET /metrics`` in Prometheus' text format."""
    blueprint = Blueprint("metrics", __name__)

    @blueprint.get("/metrics")
    def metrics() -> Response:
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            from prometheus_client import REGISTRY

            registry = REGISTRY
        output = generate_latest(registry)
        local = CollectorRegistry()
        local.register(StoreCollector(engine))
        return Response(output + generate_latest(local), content_type=CONTENT_TYPE_LATEST)

    return blueprint
