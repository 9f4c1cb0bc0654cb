"""Builds the follow-up feature from the settings: plans, rules, links, the practice channel,
the stop rules, the dispatcher and the progress reader.

Composition root only: nothing under ``webhooks/`` reads settings or knows the LMS kind. The
channel is chosen here: Moodle, coach messages; Totara 19+ (goal tasks offered), goal tasks
on a practice goal; older Totara, coach messages through the legacy web services. Each
builder names the config key (and the environment variable) that is missing, never a
secret's value.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from threading import Lock

from flask import Flask
from sqlalchemy import Engine

from config import Settings
from connector.moodle.client import MoodleClient
from connector.totara import operations as ops
from connector.totara.client import TotaraClient
from sidecar.totara_wiring import build_legacy_client, build_totara_client
from sidecar.wiring import build_client
from webhooks.channel import PracticeChannel
from webhooks.clock import Clock, SystemClock
from webhooks.dispatch import Dispatcher, SendRules
from webhooks.goal_channel import GoalTaskChannel
from webhooks.learner import LearnerPages, init_app
from webhooks.links import LinkSigner
from webhooks.message_channel import MessageChannel
from webhooks.policy import FollowupError, Policy, load_policy
from webhooks.progress import ProgressReport, read_progress
from webhooks.schedule import Rules
from webhooks.stops import LmsStopChecks
from webhooks.timing import QuietWindow

log = logging.getLogger(__name__)

#: The goal-task operations the Totara channel uses (Totara 19+, perform goals 18+).
GOAL_TASK_OPERATIONS = (ops.USER_GOALS, ops.CREATE_GOAL, ops.GOAL_TASKS, ops.CREATE_GOAL_TASK)
#: How long a probe's answer (does the site offer goal tasks?) is trusted, per site.
OFFERS_TTL_SECONDS = 3600.0
_offers: dict[tuple[str, str], tuple[float, bool]] = {}
_offers_lock = Lock()


class FollowupSetupError(FollowupError):
    """A setting the follow-ups need is missing; the message says which and how to set it."""


def policy_for(settings: Settings) -> Policy:
    """The plans of ``followups.plans_file``; no file means no plans.

    Raises:
        PlansFileError: the file is unreadable or invalid (each problem with its line).
    """
    path = settings.followups.plans_file
    if path is None:
        return Policy(())
    return load_policy(path, settings.followups.spacing_days)


def rules_for(settings: Settings) -> Rules:
    f = settings.followups
    return Rules(site=settings.lms.url, timezone=f.timezone,
                 working_days_only=f.working_days_only, max_repeats=f.max_repeats)


def send_rules_for(settings: Settings) -> SendRules:
    f = settings.followups
    quiet = QuietWindow.parse(f.quiet_hours.start, f.quiet_hours.end) if f.quiet_hours else None
    return SendRules(quiet=quiet, daily_cap=f.daily_cap, batch_size=f.batch_size,
                     lease=timedelta(seconds=f.sending_lease_seconds),
                     workers=settings.lms.concurrency)


def signer_for(settings: Settings, clock: Clock) -> LinkSigner:
    f = settings.followups
    secret = f.resolved_link_secret
    if secret is None:
        raise FollowupSetupError(
            "followups.link_secret is not set: set the environment variable "
            "SIDECAR_FOLLOWUPS__LINK_SECRET (long random text) or followups.link_secret_file")
    if f.public_url is None:
        raise FollowupSetupError(
            "followups.public_url is not set: the address where learners reach `sidecar "
            "serve`, e.g. https://sidecar.example.org")
    return LinkSigner(secret, clock, timedelta(days=f.link_max_age_days), f.public_url)


def coach_client(settings: Settings) -> MoodleClient:
    """A client of the coach's own token (same site, timeouts and retries as ``lms``; on
    Totara, the legacy web services)."""
    token = settings.followups.coach.resolved_token
    if token is None:
        raise FollowupSetupError(
            "followups.coach.token is not set: create a web-service token for the practice "
            "coach account and set SIDECAR_FOLLOWUPS__COACH__TOKEN or "
            "followups.coach.token_file")
    lms = settings.lms.model_copy(update={"token": token, "token_file": None,
                                          "username": None, "password": None,
                                          "password_file": None})
    return build_client(lms)


def lms_client(settings: Settings) -> MoodleClient:
    """The main token's client: Moodle's web services, or Totara's legacy ones (which the
    follow-ups need for learners, courses and enrolments).

    Raises:
        FollowupSetupError: a Totara site without a web-service token.
    """
    if settings.lms.kind != "totara":
        return build_client(settings.lms)
    legacy = build_legacy_client(settings.lms)
    if legacy is None:
        raise FollowupSetupError(
            "lms.kind is totara and no web-service token is set: follow-ups read learners, "
            "courses, enrolments and completions through Totara's legacy web services; set "
            "SIDECAR_LMS__TOKEN (or lms.token_file) to a token of the service account")
    return legacy


def has_course_competencies(settings: Settings) -> bool:
    """Whether the site's web services list a course's competencies (Moodle's
    ``core_competency_*``; Totara has none, so its plans match on courses only)."""
    return settings.lms.kind != "totara"


def offers_goal_tasks(settings: Settings, client: TotaraClient) -> bool:
    """Whether the Totara site offers goal tasks: ``totara.release`` when set, else one
    validation-only probe per operation, remembered for an hour per site.

    Raises:
        LmsError: a probe could not tell (token refused, API off, site unreachable).
    """
    release = settings.totara.release
    if release is not None:
        return release >= "19"
    key = (settings.lms.url, settings.lms.client_id or "")
    with _offers_lock:
        cached = _offers.get(key)
    if cached is not None and time.monotonic() - cached[0] < OFFERS_TTL_SECONDS:
        return cached[1]
    offered = all(client.offers(op) for op in GOAL_TASK_OPERATIONS)
    with _offers_lock:
        _offers[key] = (time.monotonic(), offered)
    return offered


def practice_channel(settings: Settings, engine: Engine, clock: Clock,
                     coach: MoodleClient | None = None,
                     totara: TotaraClient | None = None) -> PracticeChannel:
    """The channel this site's practice tasks go through (see the module docstring).

    Raises:
        FollowupSetupError: a setting the chosen channel needs is missing.
        LmsError: the Totara probe or the coach's site info failed.
    """
    signer = signer_for(settings, clock)
    if settings.lms.kind == "totara":
        totara = totara or build_totara_client(settings.lms)
        if offers_goal_tasks(settings, totara):
            return GoalTaskChannel(totara, engine, signer.url, clock)
    coach = coach or coach_client(settings)
    return MessageChannel(coach, coach.site_info().userid, signer.url, clock,
                          calendar_events=settings.followups.calendar_events)


def stop_rules(settings: Settings, lms: MoodleClient) -> LmsStopChecks | None:
    """The stop rules the settings switch on, asked with ``lms`` (the main token).

    Raises:
        FollowupSetupError: ``followups.stop_when_proficient`` on a Totara site, whose APIs
            offer no competency ratings.
    """
    f = settings.followups
    if settings.lms.kind == "totara" and f.stop_when_proficient:
        raise FollowupSetupError(
            "followups.stop_when_proficient is true, but Totara offers no API that reads a "
            "learner's competency ratings (its external API has no competency operations, "
            "its legacy web services no learning plans): set followups.stop_when_proficient: "
            "false for a Totara site (followups.check_enrolment still works)")
    if not (f.check_enrolment or f.stop_when_proficient):
        return None
    return LmsStopChecks(lms, check_enrolment=f.check_enrolment,
                         check_proficiency=f.stop_when_proficient)


def learner_pages(settings: Settings, engine: Engine, clock: Clock) -> LearnerPages:
    return LearnerPages(engine=engine, signer=signer_for(settings, clock),
                        policy=policy_for(settings), rules=rules_for(settings), clock=clock)


def dispatcher_for(settings: Settings, engine: Engine, clock: Clock,
                   lms: MoodleClient | None = None, coach: MoodleClient | None = None,
                   totara: TotaraClient | None = None) -> Dispatcher:
    """The dispatcher of this site: its practice channel, and its stop rules on the main
    token.

    Raises:
        FollowupSetupError: a setting is missing or not possible on this LMS.
        LmsError: the channel could not be set up (coach's site info, Totara probe).
    """
    stops = stop_rules(settings, lms or lms_client(settings))
    return Dispatcher(engine=engine,
                      channel=practice_channel(settings, engine, clock, coach, totara),
                      policy=policy_for(settings), rules=rules_for(settings),
                      send=send_rules_for(settings), clock=clock, stops=stops)


def progress_for(settings: Settings, engine: Engine, clock: Clock,
                 totara: TotaraClient | None = None) -> ProgressReport:
    """Read what learners marked done in the LMS and feed it to the schedule (one run).

    Raises:
        FollowupSetupError, LmsError: as :func:`practice_channel`.
        SQLAlchemyError: the store failed.
    """
    channel = practice_channel(settings, engine, clock, totara=totara)
    return read_progress(engine, channel, policy_for(settings), rules_for(settings), clock,
                         window=timedelta(days=settings.followups.progress_window_days))


def use_clock(app: Flask, settings: Settings, engine: Engine, clock: Clock) -> bool:
    """Serve ``app``'s answer page on ``clock`` (the demo moves time forward); False when the
    page is not mounted."""
    from webhooks.learner import EXTENSION

    if EXTENSION not in app.extensions:
        return False
    app.extensions[EXTENSION] = learner_pages(settings, engine, clock)
    return True


def mount_learner_pages(app: Flask, settings: Settings, engine: Engine) -> bool:
    """Serve the learners' answer page when its key and public address are configured."""
    if not settings.features.followups:
        return False
    try:
        pages = learner_pages(settings, engine, SystemClock())
    except FollowupSetupError as exc:
        log.info("learner answer page not served: %s", exc)
        return False
    init_app(app, pages)
    return True
