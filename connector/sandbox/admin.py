"""``/_sandbox/...``: JSON control endpoints for tests, the demo and benchmarks.

Every endpoint but ``health`` needs ``Authorization: Bearer <admin token>``. They do what a
Moodle admin does in the web UI (services, tokens, completion settings, reports), what Moodle's
cron does, and what only a test double can do (faults, clock, reset, dump).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from connector.sandbox import control
from connector.sandbox.dump import dump_state
from connector.sandbox.errors import MoodleError
from connector.sandbox.faults import FaultConfig, FaultInjector
from connector.sandbox.state import SandboxState

blueprint = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")
View = Callable[..., Response | tuple[Response, int]]


def _state() -> SandboxState:
    state: SandboxState = current_app.extensions["sandbox"]
    return state


def _faults() -> FaultInjector:
    injector: FaultInjector = current_app.extensions["sandbox.faults"]
    return injector


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def admin_only(view: View) -> View:
    """Refuse calls without the admin bearer token (401), and map bad input to 400."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response | tuple[Response, int]:
        header = request.headers.get("Authorization", "")
        given = header.removeprefix("Bearer ").strip()
        if not header.startswith("Bearer ") or not secrets.compare_digest(
            given.encode(), _state().admin_token.encode()
        ):
            return jsonify({"error": "admin bearer token required"}), 401
        try:
            return view(*args, **kwargs)
        except (ValueError, TypeError, KeyError, MoodleError) as error:
            return jsonify({"error": str(error)}), 400

    return wrapped


@blueprint.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@blueprint.route("/faults", methods=["GET", "PUT"])
@admin_only
def faults() -> Response:
    """GET the fault settings; PUT a full set (missing keys take their defaults)."""
    if request.method == "PUT":
        _faults().configure(FaultConfig.from_dict(_body()))
    return jsonify(_faults().config.to_dict())


@blueprint.route("/clock", methods=["GET", "POST"])
@admin_only
def clock() -> Response:
    """POST ``{"now": ts}``, ``{"advance": seconds}`` and/or ``{"frozen": bool}``."""
    body, the_clock = _body(), _state().clock
    if "frozen" in body:
        the_clock.freeze(bool(body["frozen"]))
    if "now" in body:
        the_clock.set(int(body["now"]))
    if "advance" in body:
        the_clock.advance(int(body["advance"]))
    return jsonify({"now": the_clock.now(), "frozen": the_clock.frozen})


@blueprint.post("/reset")
@admin_only
def reset() -> Response:
    _state().reset()
    return jsonify({"reset": True})


@blueprint.get("/dump")
@admin_only
def dump() -> Response:
    with _state().transaction() as db:
        return jsonify(dump_state(db))


@blueprint.route("/settings", methods=["GET", "POST"])
@admin_only
def settings() -> Response:
    """``debugdeveloper`` (debuginfo in errors) and ``max_input_vars``."""
    body, current = _body(), _state().settings
    if "debugdeveloper" in body:
        current.debugdeveloper = bool(body["debugdeveloper"])
    if "max_input_vars" in body:
        current.max_input_vars = int(body["max_input_vars"])
    return jsonify({"debugdeveloper": current.debugdeveloper,
                    "max_input_vars": current.max_input_vars})


@blueprint.post("/services")
@admin_only
def services() -> Response:
    body = _body()
    with _state().transaction() as db:
        serviceid = control.create_service(db, str(body["name"]), str(body["shortname"]),
                                           [str(name) for name in body["functions"]])
    return jsonify({"id": serviceid})


@blueprint.post("/tokens")
@admin_only
def tokens() -> Response:
    """A token for ``userid`` or ``username`` on ``service``, optionally expiring."""
    body = _body()
    user: int | str = int(body["userid"]) if "userid" in body else str(body["username"])
    state = _state()
    with state.transaction() as db:
        token = control.create_token(
            db, state.clock.now(), user=user, service=str(body.get("service", "lms_sidecar")),
            token=body.get("token"), validuntil=int(body.get("validuntil", 0)),
            calls=body.get("calls"))
    return jsonify({"token": token})


@blueprint.post("/tokens/expire")
@admin_only
def expire() -> Response:
    body = _body()
    with _state().transaction() as db:
        control.expire_token(db, str(body["token"]), validuntil=body.get("validuntil"),
                             calls=body.get("calls"))
    return jsonify({"ok": True})


@blueprint.post("/completion-criteria")
@admin_only
def completion_criteria() -> Response:
    with _state().transaction() as db:
        control.enable_self_completion(db, int(_body()["courseid"]))
    return jsonify({"ok": True})


@blueprint.post("/cron")
@admin_only
def cron() -> Response:
    with _state().transaction() as db:
        return jsonify(control.run_cron(db))


@blueprint.post("/course-visits")
@admin_only
def course_visits() -> Response:
    body, state = _body(), _state()
    with state.transaction() as db:
        control.record_course_visit(db, state.clock.now(), int(body["userid"]),
                                    int(body["courseid"]))
    return jsonify({"ok": True})


@blueprint.post("/reports")
@admin_only
def reports() -> Response:
    body, state = _body(), _state()
    with state.transaction() as db:
        reportid = control.create_report(db, state.clock.now(), str(body["name"]),
                                         body.get("courseidnumber"))
    return jsonify({"id": reportid})
