"""Builds what the commands need from the settings: the LMS client and the state store.

The one place where configuration turns into objects; nothing below the composition
root reads settings or environment variables itself.
"""

from __future__ import annotations

from pathlib import Path

import requests
from sqlalchemy import Engine

import store
from config import LmsSettings, Settings
from connector.http import Timeouts
from connector.moodle.client import MoodleClient
from connector.moodle.transport import LoginToken, MoodleTransport, StaticToken
from connector.pacing import CallStats, RateLimiter
from connector.retry import RetryPolicy
from sidecar.metrics import observe_call
from skills_map.errors import SkillsMapError
from skills_map.job import SkillsMap
from skills_map.review import SuggestOptions
from sync.errors import SyncError
from sync.hrimport import HrImportSync
from sync.job import FrameworkSync
from sync.planner import PlanOptions
from sync.target import FrameworkTarget


def build_transport(
    lms: LmsSettings, *, session: requests.Session | None = None
) -> MoodleTransport:
    """A transport for the configured site, signing in with a token or a password."""
    token_value = lms.resolved_token
    if token_value is not None:
        token: StaticToken | LoginToken = StaticToken(token_value)
    else:
        password = lms.resolved_password
        if password is None or not lms.username:
            raise ValueError("lms settings carry neither a token nor a username and password")
        token = LoginToken(lms.username, password, lms.service)
    verify: bool | str = str(lms.ca_bundle) if lms.ca_bundle else lms.verify_tls
    return MoodleTransport(
        lms.url,
        token,
        format=lms.format,
        timeouts=Timeouts(connect=lms.timeout.connect, read=lms.timeout.read),
        retry=RetryPolicy(attempts=lms.retries.attempts, backoff=lms.retries.backoff,
                          max_backoff=lms.retries.max_backoff),
        max_input_vars=lms.max_input_vars,
        verify=verify,
        rate_limiter=RateLimiter(lms.rate_limit) if lms.rate_limit else None,
        stats=CallStats(observer=observe_call),
        pool_size=lms.concurrency,
        session=session,
    )


def build_client(lms: LmsSettings, *, session: requests.Session | None = None) -> MoodleClient:
    """The Moodle client for the configured site."""
    return MoodleClient(build_transport(lms, session=session), concurrency=lms.concurrency)


def open_store(settings: Settings) -> Engine:
    """The state store's engine, with pending migrations applied.

    Raises:
        store.StoreError: the database cannot be reached or migrated.
    """
    engine = store.create_engine(settings.store.url)
    store.migrate(engine)
    return engine


def build_framework_sync(
    settings: Settings, client: MoodleClient, engine: Engine,
    sources: tuple[Path, ...] = (), on_missing: str | None = None,
) -> FrameworkSync:
    """The framework sync for this site: sources from the command line, else the config."""
    chosen = sources or tuple(settings.sync.sources)
    action = on_missing or settings.sync.on_missing
    return FrameworkSync(client=client, engine=engine, site=settings.lms.url, sources=chosen,
                         options=PlanOptions(on_missing=action))  # type: ignore[arg-type]


def build_hr_import(settings: Settings, engine: Engine, sources: tuple[Path, ...] = (),
                    on_missing: str | None = None) -> HrImportSync:
    """The HR Import export of a Totara site.

    Raises:
        SyncError: ``totara.hr_import_dir`` is not set (the message says what to set).
    """
    folder = settings.totara.hr_import_dir
    if folder is None:
        raise SyncError("lms.kind is totara, whose API cannot write competencies: set "
                        "totara.hr_import_dir to the folder Totara's HR Import reads (HR Import "
                        "> Sources > CSV > Files directory)")
    return HrImportSync(engine=engine, site=settings.lms.url,
                        sources=sources or tuple(settings.sync.sources), directory=folder,
                        file_name=f"{settings.totara.hr_import_prefix}.csv",
                        on_missing=on_missing or settings.sync.on_missing)  # type: ignore[arg-type]


def framework_run_kind(settings: Settings) -> str:
    """The kind under which the store records this site's framework sync runs."""
    return HrImportSync.run_kind if settings.lms.kind == "totara" else FrameworkSync.run_kind


def build_framework_target(settings: Settings, engine: Engine) -> FrameworkTarget:
    """The framework sync this site's kind calls for: Moodle's web services, or an HR Import
    file for Totara (whose API cannot write competencies).

    Raises:
        SyncError: a Totara site without ``totara.hr_import_dir``.
    """
    if settings.lms.kind == "totara":
        return build_hr_import(settings, engine)
    return build_framework_sync(settings, build_client(settings.lms), engine)


TOTARA_COURSE_LINKS = (
    "lms.kind is totara: lms-sidecar cannot read or write this site's course links, so "
    "nothing was read or sent. Totara's legacy web service "
    "totara_competency_set_linked_courses(competency_id, courses) needs the competency's "
    "Totara id, and no web service or GraphQL operation finds that id from the competency's "
    "idnumber (totara_competency_get_frameworks and totara_competency_competency_index answer "
    "ids and names, never idnumbers), so a link could land on the wrong competency and "
    "replace its other links. What you can do: link courses on the competency's page in "
    "Totara (Linked courses), and switch features.skills_map off for this site "
    "(docs/totara.md, Assumptions, course links).")


def require_course_links(settings: Settings) -> None:
    """Refuse the skills map's commands on a site whose course links lms-sidecar cannot reach.

    Raises:
        SkillsMapError: ``lms.kind`` is ``totara`` (the message says why and what to do).
    """
    if settings.lms.kind == "totara":
        raise SkillsMapError(TOTARA_COURSE_LINKS)


def build_skills_map(settings: Settings, client: MoodleClient, engine: Engine,
                     mapping_file: Path | None = None) -> SkillsMap:
    """The skills-map job: the mapping file from the command line, else the config."""
    return SkillsMap(client=client, engine=engine, site=settings.lms.url,
                     mapping_file=mapping_file or settings.skills_map.mapping_file)


def suggest_options(settings: Settings, *, top_k: int | None = None,
                    threshold: float | None = None) -> SuggestOptions:
    """How suggestions are chosen: the config, with command-line overrides."""
    section = settings.skills_map
    return SuggestOptions(
        default_threshold=section.threshold if threshold is None else threshold,
        thresholds=dict(section.thresholds), top_k=top_k or section.top_k,
        method=section.method, auto_accept=section.auto_accept,
        auto_accept_threshold=section.auto_accept_threshold)
