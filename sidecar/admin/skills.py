"""Admin pages of the skills map: review suggestions with their evidence, see coverage."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from connector.errors import LmsError
from sidecar.admin.panels import register_link
from sidecar.admin.views import blueprint
from sidecar.app import services
from sidecar.wiring import build_catalogue_source
from skills_map import coverage as cov
from skills_map.errors import SkillsMapError
from skills_map.mapping import Outcome
from skills_map.review import decide, pending
from sync.errors import SyncError

log = logging.getLogger(__name__)
ACTOR = "admin (web)"


@blueprint.get("/suggestions")
def suggestions() -> ResponseReturnValue:
    """Pending suggestions, best first within each course, with the evidence behind them."""
    svc = services()
    rows = pending(svc.engine, svc.settings.lms.url)
    return render_template("admin/suggestions.html", rows=rows, outcomes=list(Outcome),
                           mapping_file=svc.settings.skills_map.mapping_file)


@blueprint.post("/suggestions/<int:suggestion_id>")
def decide_suggestion(suggestion_id: int) -> ResponseReturnValue:
    svc = services()
    decision = request.form.get("decision", "")
    outcome_name = request.form.get("outcome", "")
    outcome = Outcome[outcome_name.upper()] if outcome_name.upper() in Outcome.__members__ \
        else None
    try:
        row = decide(svc.engine, svc.settings.lms.url, suggestion_id, decision, actor=ACTOR,
                     mapping_file=svc.settings.skills_map.mapping_file, outcome=outcome)
    except SkillsMapError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.suggestions"))
    flash(f"{decision.capitalize()}: {row.course} builds {row.competency_name or row.competency}"
          + (" (written to the mapping file; `sidecar map apply` links it in Moodle)"
             if decision == "accepted" else ""), "info")
    return redirect(url_for("admin.suggestions"))


@blueprint.get("/coverage")
def coverage() -> ResponseReturnValue:
    """The courses x competencies matrix as a picture, and the gaps, from the LMS's links."""
    svc = services()
    framework = request.args.get("framework", "")
    try:
        source = build_catalogue_source(svc.settings, svc.engine)
        catalogue = source.catalogue([framework] if framework else [])
        report = cov.build_coverage(catalogue, source.links(catalogue))
    except LmsError as exc:
        flash(f"The LMS could not be read: {exc.message}", "error")
        return render_template("admin/coverage.html", svg=None, report=None)
    except (SkillsMapError, SyncError) as exc:
        flash(str(exc), "error")
        return render_template("admin/coverage.html", svg=None, report=None)
    # lxml built the picture and escaped every text in it: no markup from the LMS gets through
    picture = cov.to_svg(report)
    if picture.startswith("<?xml"):
        picture = picture.split("?>", 1)[1]  # inline in HTML, without the XML declaration
    svg = Markup(picture)  # noqa: S704
    return render_template("admin/coverage.html", svg=svg, report=report)


register_link("Suggestions", "admin.suggestions")
register_link("Coverage", "admin.coverage")
