"""The admin pages: sign-in, dashboard, sync runs (with their plans), plan and apply, audit."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from rich.console import Console
from sqlalchemy import func, select
from wtforms import ValidationError

import store
from connector.errors import LmsError
from sidecar.admin.auth import safe_next, sign_in, signed_in
from sidecar.admin.panels import LINKS, PANELS
from sidecar.app import services
from sidecar.wiring import build_client, build_framework_sync
from sync.errors import SyncError
from sync.plan import Plan
from sync.render import render, summary

log = logging.getLogger(__name__)

blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                      static_folder="static")
# Counts sign-in attempts per client address; limits come from admin.signin_limit.
limiter = Limiter(get_remote_address, default_limits=[])
PUBLIC = {"admin.signin", "admin.static"}


@blueprint.before_request
def guard() -> ResponseReturnValue | None:
    """Every admin route needs a session (except sign-in), every POST a CSRF token."""
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token", ""))
        except (ValidationError, CSRFError):
            return render_template("admin/message.html", title="Form expired",
                                   message="The form was too old or not ours. Go back, reload "
                                           "the page and try again."), 400
    if request.endpoint in PUBLIC or signed_in():
        return None
    if request.method != "GET":
        return render_template("admin/message.html", title="Sign in first",
                               message="Your session ended. Sign in again."), 401
    return redirect(url_for("admin.signin", next=request.path))


@blueprint.app_context_processor
def template_helpers() -> dict[str, Any]:
    return {"csrf_token": generate_csrf, "signed_in": signed_in,
            "admin_links": [(label, endpoint) for label, endpoint in LINKS
                            if endpoint in current_app.view_functions]}


@blueprint.route("/signin", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.extensions["sidecar.signin_limit"]), methods=["POST"],
               error_message="Too many sign-in attempts; wait a minute and try again.")
def signin() -> ResponseReturnValue:
    if request.method == "POST":
        if sign_in(request.form.get("password", "")):
            log.info("admin signed in from %s", request.remote_addr)
            return redirect(safe_next(request.args.get("next")))
        log.warning("failed admin sign-in from %s", request.remote_addr)
        return render_template("admin/signin.html", error="That password is not right."), 401
    return render_template("admin/signin.html", error=None)


@blueprint.post("/signout")
def signout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("admin.signin"))


@blueprint.get("/")
def dashboard() -> ResponseReturnValue:
    svc = services()
    day_ago = datetime.now(UTC) - timedelta(days=1)
    with store.session_scope(store.session_factory(svc.engine)) as session:
        runs = store.recent_runs(session, 5)
        failed = session.scalar(select(func.count(store.SyncRun.id)).where(
            store.SyncRun.status == "failed", store.SyncRun.started_at >= day_ago)) or 0
        panels = [(panel.title, _panel_rows(panel, session)) for panel in PANELS]
        rows = [_run_row(r) for r in runs]
    scheduler = current_app.extensions.get("sidecar.scheduler")
    jobs = [(job.name, job.next_run_time) for job in scheduler.get_jobs()] if scheduler else []
    return render_template("admin/dashboard.html", runs=rows, failed=failed, jobs=jobs,
                           panels=panels, site=svc.settings.lms.url)


def _panel_rows(panel: Any, session: Any) -> list[tuple[str, Any]]:
    try:
        return list(panel.rows(session, services().settings))
    except Exception as exc:  # a broken panel must not take the dashboard down
        log.exception("dashboard panel %s failed", panel.title)
        return [("unavailable", type(exc).__name__)]


def _run_row(run: store.SyncRun) -> dict[str, Any]:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {"id": run.id, "kind": run.kind, "trigger": run.trigger, "status": run.status,
            "dry_run": run.dry_run, "started": run.started_at.strftime("%Y-%m-%d %H:%M UTC"),
            "took": f"{took:.1f} s" if took is not None else "—",
            "summary": run.summary or {}, "api_calls": run.api_calls, "error": run.error}


@blueprint.get("/runs")
def runs() -> ResponseReturnValue:
    with store.session_scope(store.session_factory(services().engine)) as session:
        rows = [_run_row(r) for r in store.recent_runs(session, 50)]
    return render_template("admin/runs.html", runs=rows)


@blueprint.get("/runs/<int:run_id>")
def run(run_id: int) -> ResponseReturnValue:
    with store.session_scope(store.session_factory(services().engine)) as session:
        found = session.get(store.SyncRun, run_id)
        if found is None:
            abort(404)
        row = _run_row(found)
        steps = [{"op": s.op_id, "status": s.status, "detail": (s.detail or {}).get("detail", "")}
                 for s in session.scalars(select(store.SyncStep).where(
                     store.SyncStep.run_id == run_id).order_by(store.SyncStep.id))]
        plan_html, plan_summary = _plan_html(found.plan)
    return render_template("admin/run.html", run=row, steps=steps, plan_html=plan_html,
                           plan_summary=plan_summary)


def _plan_html(data: object) -> tuple[str, str]:
    if not isinstance(data, dict) or not data:
        return "", ""
    plan = Plan.from_json(json.dumps(data))
    console = Console(record=True, width=110, file=io.StringIO())
    console.print(render(plan))
    html = console.export_html(inline_styles=True, code_format='<pre class="plan">{code}</pre>')
    return html, summary(plan)


def _job() -> Any:
    svc = services()
    return build_framework_sync(svc.settings, build_client(svc.settings.lms), svc.engine)


@blueprint.post("/plan")
def plan() -> ResponseReturnValue:
    """Compute a plan now and keep it as a dry run, to read and to apply later."""
    svc = services()
    job = _job()
    try:
        the_plan, _ = job.plan()
    except (SyncError, LmsError) as exc:
        flash(f"The plan could not be made: {exc}", "error")
        return redirect(url_for("admin.runs"))
    with store.session_scope(store.session_factory(svc.engine)) as session:
        record = store.start_run(session, kind="frameworks", site=svc.settings.lms.url,
                                 dry_run=True, trigger="admin",
                                 plan=json.loads(the_plan.to_json()))
        store.finish_run(session, record, "succeeded", api_calls=job.client.stats.calls,
                         summary={"changes": len(the_plan.changes)})
        run_id = record.id
    flash(summary(the_plan), "info")
    return redirect(url_for("admin.run", run_id=run_id))


@blueprint.post("/apply")
def apply() -> ResponseReturnValue:
    """Start an apply in the background; its run appears on the runs page."""
    job = _job()

    def work() -> None:
        try:
            job.run(trigger="admin")
        except (SyncError, LmsError) as exc:
            log.error("apply started from the admin pages failed: %s", exc)

    threading.Thread(target=work, name="admin-apply", daemon=True).start()
    flash("Apply started; it shows below when it finishes.", "info")
    return redirect(url_for("admin.runs"))


@blueprint.get("/audit")
def audit() -> ResponseReturnValue:
    days = request.args.get("days", default=30, type=int)
    since = datetime.now(UTC) - timedelta(days=max(1, min(days, 3650)))
    with store.session_scope(store.session_factory(services().engine)) as session:
        entries = [{"at": e.at.strftime("%Y-%m-%d %H:%M"), "actor": e.actor, "action": e.action,
                    "subject": e.subject, "score": e.score}
                   for e in reversed(store.audit_entries(session, since=since))]
    return render_template("admin/audit.html", entries=entries, days=days)
