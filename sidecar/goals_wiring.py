"""Builds the goals sync for the configured site: the one place that asks which LMS it is.

A Moodle site gets :class:`sync.goals.moodle.MoodleGoals` (learning plans), a Totara site
:class:`sync.goals.totara.TotaraGoals` (perform goals); the commands, the admin page and the
schedule use the :class:`sync.goals.GoalSync` they get back and never ask.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from config import Settings
from sidecar.totara_wiring import build_totara_client
from sidecar.wiring import build_client
from sync.goals import GoalOptions, GoalSync
from sync.goals.moodle import moodle_goal_sync
from sync.goals.totara import totara_goal_sync


def goal_options(settings: Settings, *, force: bool = False) -> GoalOptions:
    """The ``goals`` config section, plus ``--force``."""
    section = settings.goals
    return GoalOptions(on_withdrawn=section.on_withdrawn, plan_status=section.plan_status,
                       manager_role=section.manager_role, force=force)


def build_goal_sync(settings: Settings, engine: Engine, files: tuple[Path, ...] = (), *,
                    force: bool = False) -> GoalSync:
    """The goals sync for this site: exports from the command line, else the config.

    Raises:
        ValueError: the LMS settings carry no credentials for the site's kind.
    """
    section = settings.goals
    chosen = files or tuple(section.files)
    options = goal_options(settings, force=force)
    if settings.lms.kind == "totara":
        return totara_goal_sync(build_totara_client(settings.lms), engine, settings.lms.url,
                                chosen, options=options, employee_key=section.employee_key,
                                timezone=section.timezone)
    return moodle_goal_sync(build_client(settings.lms), engine, settings.lms.url, chosen,
                            options=options, employee_key=section.employee_key,
                            manager_key=section.manager_key, frameworks=section.frameworks,
                            timezone=section.timezone)
