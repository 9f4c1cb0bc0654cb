"""``sidecar check`` for a Totara site: the API client's token, the GraphQL API, which of the
operations lms-sidecar uses the site offers, and which features that leaves on or off.

Which operations a site offers is found by a probe per operation (see
:func:`connector.totara.operations.probe_text`), not from the release: the status query does
not report one, and the contract leaves open in which release perform goals arrive ("18 to
20"). A probe is one request that GraphQL rejects while validating (nothing runs, nothing is
written), so checking all of them costs a few complexity points. ``totara.release`` in the
config skips the probes and takes the contract's table instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.table import Table

from config import Settings
from connector import errors as e
from connector.totara import operations as ops
from connector.totara.client import TotaraClient
from sidecar.commands.check_report import (
    BAD_MARK,
    NOTE_MARK,
    OK_MARK,
    StoreStatus,
    fail,
    print_store,
    store_json,
    store_status,
)
from sidecar.context import NOT_READY, OK, UNREACHABLE, CliContext
from sidecar.followup_wiring import GOAL_TASK_OPERATIONS
from sidecar.totara_wiring import build_legacy_client, build_totara_client
from skills_map.totara_links import missing_functions

_RELEASE_ORDER = ("17", "18", "19")
_GOALS = ("perform_goal_create_goal", "perform_goal_update_goal", "perform_goal_user_goals")
#: What the follow-ups read through the legacy web services, whatever the channel.
_LEGACY_READS = ("core_enrol_get_enrolled_users", "core_completion_get_course_completion_status")
_LEGACY_FOLLOWUPS = (*_LEGACY_READS, "core_message_send_instant_messages")


@dataclass(frozen=True)
class TotaraFeature:
    key: str
    title: str
    enabled: bool
    ready: bool
    detail: str
    fixes: tuple[str, ...] = ()


@dataclass
class TotaraReport:
    url: str
    client_id: str
    token_lifetime: int | None
    offered: dict[str, bool]
    how: str
    legacy: str
    features: list[TotaraFeature] = field(default_factory=list)
    store: StoreStatus | None = None

    @property
    def ready(self) -> bool:
        return all(f.ready for f in self.features if f.enabled) and bool(self.store
                                                                          and self.store.ok)


def check_totara(ctx: CliContext, settings: Settings, as_json: bool) -> None:
    """Run the Totara check and exit 0 (ready), 1 (something missing) or 2 (refused)."""
    url = settings.lms.url
    client = build_totara_client(settings.lms)
    try:
        client.status()
        offered, how = _offered(client, settings.totara.release)
    except e.OAuthTokenError as exc:
        fail(ctx, as_json, UNREACHABLE, url,
             f"the token endpoint refused API client {settings.lms.client_id}: {exc.message}",
             exc.errorcode)
    except e.TotaraApiDisabledError as exc:
        fail(ctx, as_json, UNREACHABLE, url, exc.message, None)
    except (e.LmsAuthError, e.LmsConnectionError, e.LmsResponseError) as exc:
        fail(ctx, as_json, UNREACHABLE, url, str(exc), getattr(exc, "errorcode", None))
    functions, legacy = _legacy_functions(settings)
    report = TotaraReport(url, settings.lms.client_id or "",
                          getattr(client.transport.auth, "lifetime", None), offered, how, legacy)
    report.features = _features(settings, offered, functions)
    report.store = store_status(settings)
    code = OK if report.ready else NOT_READY
    if as_json:
        click.echo(json.dumps(_as_json(report, code), indent=2))
    else:
        _render(ctx, report)
    raise click.exceptions.Exit(code)


def _offered(client: TotaraClient, release: str | None) -> tuple[dict[str, bool], str]:
    if release is not None:
        rank = _RELEASE_ORDER.index(release)
        return ({name: _RELEASE_ORDER.index(op.since) <= rank
                 for name, op in ops.OPERATIONS.items()},
                f"taken from totara.release {release} (the contract's table; not probed)")
    return ({name: client.offers(op) for name, op in ops.OPERATIONS.items()},
            "probed, one validation-only request per operation")


def _legacy_functions(settings: Settings) -> tuple[frozenset[str] | None, str]:
    legacy = build_legacy_client(settings.lms)
    if legacy is None:
        return None, ("no web-service token (SIDECAR_LMS__TOKEN): Totara's legacy web services "
                      "(course links, messages, completion status) are not used")
    try:
        info = legacy.site_info()
    except e.LmsError as exc:
        return None, f"the legacy web services refused the token: {exc}"
    return (frozenset(info.function_names),
            f"legacy web services answer; the token's service offers "
            f"{len(info.function_names)} functions")


def _features(settings: Settings, offered: dict[str, bool],
              functions: frozenset[str] | None) -> list[TotaraFeature]:
    on = settings.features
    folder = settings.totara.hr_import_dir
    if folder is None:
        frameworks = TotaraFeature("frameworks", "Competency frameworks (HR Import files)",
                                   on.frameworks, False, "totara.hr_import_dir is not set",
                                   ("set totara.hr_import_dir to the folder HR Import reads "
                                    "(HR Import > Sources > CSV > Files directory)",))
    elif not (Path(folder).is_dir() and os.access(folder, os.W_OK)):
        frameworks = TotaraFeature("frameworks", "Competency frameworks (HR Import files)",
                                   on.frameworks, False, f"{folder} is not a writable folder",
                                   (f"create {folder} and let lms-sidecar write to it",))
    else:
        frameworks = TotaraFeature("frameworks", "Competency frameworks (HR Import files)",
                                   on.frameworks, True, f"CSV files are written to {folder}")
    links = _course_links(on.skills_map, functions)
    goal_ops = [name for name in _GOALS if not offered.get(name)]
    goals = TotaraFeature(
        "goals", "Goals as perform goals", on.goals, not goal_ops,
        (f"the site lacks {', '.join(goal_ops)} (perform goals arrive in Totara 18-20)"
         if goal_ops else "each HR goal becomes a perform goal of the employee, keyed by "
         "id_number hr:<goal id>"),
        ("switch features.goals off: this Totara release has no perform goals",))
    followups = _followups(settings, offered, functions)
    return [frameworks, links, goals, followups]


def _course_links(enabled: bool, functions: frozenset[str] | None) -> TotaraFeature:
    """`sidecar map plan/apply`: the legacy token's service must hold the four functions."""
    title = "Skills map (course links: map plan and apply)"
    if functions is None:
        return TotaraFeature("skills_map", title, enabled, False,
                             "no working web-service token for the legacy web services",
                             ("set SIDECAR_LMS__TOKEN (or lms.token_file) to a web-service "
                              "token of the service account",))
    missing = missing_functions(functions)
    if missing:
        return TotaraFeature("skills_map", title, enabled, False,
                             f"the token's service lacks {', '.join(missing)}",
                             (f"add {', '.join(missing)} to the token's external service "
                              "(Site administration > Server > Web services > External "
                              "services > Functions)",))
    return TotaraFeature(
        "skills_map", title, enabled, True,
        "links written with totara_competency_set_linked_courses to competencies found by "
        "their names (from lms-sidecar's HR Import export); `map suggest` and `map coverage` "
        "read them with totara_competency_get_linked_courses (course tags are not read on "
        "Totara)", ("competency_index also needs Totara's competency_assignment "
                            "feature on; `sidecar map plan` says so if it is off",))


def _followups(settings: Settings, offered: dict[str, bool],
               functions: frozenset[str] | None) -> TotaraFeature:
    """Follow-ups: goal tasks on Totara 19+, else messages through the legacy web services;
    both read learners, enrolments and completions through the legacy web services."""
    f = settings.followups
    goal_tasks = all(offered.get(op.name) for op in GOAL_TASK_OPERATIONS)
    channel = ("goal tasks on a practice goal per learner (Totara 19+)" if goal_tasks else
               "messages from the coach through the legacy web services (no goal tasks "
               "before Totara 19)")
    needed = _LEGACY_FOLLOWUPS if not goal_tasks else _LEGACY_READS
    problems: list[str] = []
    fixes: list[str] = []
    if functions is None:
        problems.append("no working web-service token for the legacy web services")
        fixes.append("set SIDECAR_LMS__TOKEN (or lms.token_file) to a web-service token of "
                     "the service account")
    else:
        missing = [name for name in needed if name not in functions]
        if missing:
            problems.append(f"missing from the token's service: {', '.join(missing)}")
            fixes.extend(f"add {name} to the token's external service" for name in missing)
    if not goal_tasks and f.coach.resolved_token is None:
        problems.append("no coach token for the messages")
        fixes.append("set SIDECAR_FOLLOWUPS__COACH__TOKEN to a web-service token of the "
                     "practice coach account")
    if f.stop_when_proficient:
        problems.append("followups.stop_when_proficient is true, but Totara offers no API "
                        "that reads competency ratings")
        fixes.append("set followups.stop_when_proficient: false for a Totara site")
    for value, key in ((f.resolved_link_secret, "followups.link_secret"),
                       (f.public_url, "followups.public_url")):
        if value is None:
            problems.append(f"{key} is not set")
            fixes.append(f"set {key} (see the follow-ups guide)")
    detail = f"channel: {channel}" + (f"; {'; '.join(problems)}" if problems else "")
    return TotaraFeature("followups", "Follow-up practice", settings.features.followups,
                         not problems, detail, tuple(fixes))


def _render(ctx: CliContext, report: TotaraReport) -> None:
    out = ctx.out
    lifetime = f", tokens valid {report.token_lifetime} s" if report.token_lifetime else ""
    out.print(f"{OK_MARK} Totara API answers: {report.url} — API client {report.client_id} "
              f"got a token{lifetime}", highlight=False)
    print_store(ctx, report.store or StoreStatus("?", False, "not checked"))
    out.print(f"{NOTE_MARK} {report.legacy}", highlight=False)
    table = Table(title=f"Operations ({report.how})", title_justify="left")
    table.add_column("Operation")
    table.add_column("Since")
    table.add_column("Offered")
    for name, op in ops.OPERATIONS.items():
        table.add_row(name, op.since, "[green]yes[/]" if report.offered[name] else "[red]no[/]")
    out.print(table)
    features = Table(title="Features", title_justify="left")
    for column in ("Feature", "Status", "Why"):
        features.add_column(column)
    for item in report.features:
        status = ("[dim]switched off[/]" if not item.enabled else
                  "[green]ready[/]" if item.ready else "[red]not ready[/]")
        features.add_row(item.title, status, item.detail)
    out.print(features)
    fixes = [fix for item in report.features if item.enabled and not item.ready
             for fix in item.fixes]
    if fixes:
        out.print("To fix:")
        for fix in fixes:
            out.print(f"  • {fix}", highlight=False)
    elif report.ready:
        out.print("[bold green]Ready.[/]")
    else:
        out.print(f"{BAD_MARK} the state store is not ready", highlight=False)


def _as_json(report: TotaraReport, code: int) -> dict[str, object]:
    return {
        "site": report.url, "kind": "totara", "client_id": report.client_id,
        "token_lifetime": report.token_lifetime, "ready": report.ready,
        "operations": {"how": report.how, "offered": report.offered},
        "legacy": report.legacy,
        "features": [{"key": f.key, "title": f.title, "enabled": f.enabled, "ready": f.ready,
                      "detail": f.detail, "fixes": list(f.fixes)} for f in report.features],
        "store": store_json(report.store) if report.store else None,
        "exit_code": code,
    }
