"""Builds the follow-up feature from the settings: plans, rules, links, the coach, the dispatcher.

Composition root only: nothing under ``webhooks/`` reads settings. Each builder names the
config key (and the environment variable) that is missing, never a secret's value.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from sqlalchemy import Engine

from config import Settings
from connector.moodle.client import MoodleClient
from sidecar.wiring import build_client
from webhooks.clock import Clock, SystemClock
from webhooks.dispatch import Dispatcher, SendRules
from webhooks.learner import LearnerPages, init_app
from webhooks.links import LinkSigner
from webhooks.policy import FollowupError, Policy, load_policy
from webhooks.schedule import Rules
from webhooks.stops import LmsStopChecks
from webhooks.timing import QuietWindow

log = logging.getLogger(__name__)


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
                     workers=settings.lms.concurrency, calendar_events=f.calendar_events)


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
    """A client of the coach's own token (same site, timeouts and retries as ``lms``)."""
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


def learner_pages(settings: Settings, engine: Engine, clock: Clock) -> LearnerPages:
    return LearnerPages(engine=engine, signer=signer_for(settings, clock),
                        policy=policy_for(settings), rules=rules_for(settings), clock=clock)


def dispatcher_for(settings: Settings, engine: Engine, clock: Clock,
                   lms: MoodleClient | None = None,
                   coach: MoodleClient | None = None) -> Dispatcher:
    """The dispatcher of this site, with its stop-rule checks on the main token."""
    signer = signer_for(settings, clock)
    coach = coach or coach_client(settings)
    lms = lms or build_client(settings.lms)
    f = settings.followups
    stops = LmsStopChecks(lms, check_enrolment=f.check_enrolment,
                          check_proficiency=f.stop_when_proficient)
    return Dispatcher(engine=engine, coach=coach, coach_id=coach.site_info().userid,
                      policy=policy_for(settings), rules=rules_for(settings),
                      send=send_rules_for(settings), clock=clock, link_for=signer.url,
                      stops=stops if (f.check_enrolment or f.stop_when_proficient) else None)


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
