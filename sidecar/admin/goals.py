"""Admin page of the goals: progress per goal and competency, as HR will import it."""

from __future__ import annotations

from flask import Response, flash, render_template
from flask.typing import ResponseReturnValue

from connector.errors import LmsError
from sidecar.admin.panels import register_link
from sidecar.admin.views import blueprint
from sidecar.app import services
from sidecar.goals_wiring import build_goal_sync
from sync.errors import SyncError
from sync.goals.report import GoalReport


def _report() -> GoalReport | None:
    svc = services()
    try:
        return build_goal_sync(svc.settings, svc.engine).report()
    except (SyncError, LmsError) as exc:
        flash(f"The goals report could not be made: {exc}", "error")
        return None


@blueprint.get("/goals")
def goals() -> ResponseReturnValue:
    """Each goal's plan, competencies (rating, proficiency), courses and practice done."""
    return render_template("admin/goals.html", report=_report())


@blueprint.get("/goals.csv")
def goals_csv() -> ResponseReturnValue:
    report = _report()
    if report is None:
        return render_template("admin/goals.html", report=None), 502
    return Response(report.to_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=goals-report.csv"})


register_link("Goals", "admin.goals")
