"""Builds what the commands need from the settings: the LMS client and the state store.

The one place where configuration turns into objects; nothing below the composition
root reads settings or environment variables itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

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
from sidecar.totara_wiring import build_legacy_client
from skills_map.catalogue import CatalogueSource, MoodleCatalogue
from skills_map.errors import SkillsMapError
from skills_map.job import SkillsMap
from skills_map.linkset_job import LinkSetMap
from skills_map.namepath import ExportedCompetency
from skills_map.review import SuggestOptions
from skills_map.totara_links import TotaraCatalogue, TotaraCourseLinks
from sync.apply import Applied, Progress
from sync.errors import SyncError
from sync.hrimport import HrImportSync
from sync.job import FrameworkSync
from sync.model import Framework
from sync.plan import Plan
from sync.planner import PlanOptions
from sync.sources import read_sources
from sync.target import FrameworkTarget


class MapJob(Protocol):
    """What `sidecar map plan` and `map apply` ask of the skills-map job on any LMS."""

    def plan(self) -> Plan: ...

    def apply(self, plan: Plan | None = None, *, trigger: str = "cli",
              progress: Progress | None = None) -> Applied: ...


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


def build_map_job(settings: Settings, mapping_file: Path | None = None) -> MapJob:
    """The plan/apply job of the skills map for this site's kind: Moodle's course
    competencies, or Totara's per-competency linked courses through its legacy services.

    Raises:
        SkillsMapError: Totara without a web-service token, or whose token's service lacks
            a course-link function (nothing read or written).
        SyncError: Totara without ``totara.hr_import_dir`` or with unreadable sources.
        LmsError, store.StoreError: the site or the store cannot be reached.
    """
    engine = open_store(settings)
    if settings.lms.kind != "totara":
        return build_skills_map(settings, build_client(settings.lms), engine, mapping_file)
    site, _, exported = _totara_links(settings, engine)
    return LinkSetMap(site, engine, settings.lms.url,
                      mapping_file or settings.skills_map.mapping_file, exported)


def build_catalogue_source(settings: Settings, engine: Engine) -> CatalogueSource:
    """What `map suggest` and `map coverage` read: Moodle's catalogue and course
    competencies, or on Totara the framework sources, the last HR Import export (to find
    competencies by name), courses and per-competency links through the legacy services.

    Raises:
        SkillsMapError, SyncError, LmsError: as :func:`build_map_job`.
    """
    if settings.lms.kind != "totara":
        return MoodleCatalogue(build_client(settings.lms))
    site, sources, exported = _totara_links(settings, engine)
    return TotaraCatalogue(site, sources, exported)


def _totara_links(settings: Settings, engine: Engine) -> tuple[
        TotaraCourseLinks, Callable[[], list[Framework]],
        Callable[[], list[ExportedCompetency]]]:
    """Totara's course-link functions (checked present), the framework sources, and the
    competencies of the last HR Import export with their frameworks' names."""
    legacy = build_legacy_client(settings.lms)
    if legacy is None:
        raise SkillsMapError("course links on Totara go through its legacy web services: set "
                             "SIDECAR_LMS__TOKEN (or lms.token_file) to a web-service token of "
                             "the service account; nothing was read or written")
    site = TotaraCourseLinks(legacy)
    site.require_functions()
    export = build_hr_import(settings, engine)
    if not export.sources:
        raise SkillsMapError("sync.sources is not set: on Totara the skills map finds each "
                             "framework by the name its source gives it; list the framework "
                             "sources under sync.sources")
    frameworks = read_sources(export.sources)
    names = {fw.idnumber: fw.shortname for fw in frameworks}

    def exported() -> list[ExportedCompetency]:
        return [ExportedCompetency(r.frameworkidnumber, names.get(r.frameworkidnumber, ""),
                                   r.idnumber, r.fullname, r.parentidnumber)
                for r in export.last_export().values() if not r.deleted]

    return site, lambda: frameworks, exported


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
