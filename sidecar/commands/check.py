"""``sidecar check``: is the site reachable, who is the token, and what is missing?"""

from __future__ import annotations

import json
from dataclasses import replace

import click
from rich.table import Table

from config import Settings
from connector import errors as e
from connector.moodle.models import SiteInfo
from sidecar.commands import check_report
from sidecar.context import NOT_READY, OK, UNREACHABLE, CliContext, pass_context
from sidecar.guide import Hint, failure_hint, fix_hints
from sidecar.readiness import Readiness, assess
from sidecar.wiring import build_client


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--fix-hints", is_flag=True,
              help="Also list the admin steps still missing, each with its section of the guide.")
@pass_context
def check(ctx: CliContext, as_json: bool, fix_hints: bool = False) -> None:
    """Check the site: does it answer, which release and user, and which web-service
    functions the switched-on features need are missing from the token's service.

    Exit codes: 0 ready; 1 something is missing (the report says how to fix it);
    2 the site cannot be reached or refused the token; 78 the configuration is wrong.
    """
    settings = ctx.settings()
    if settings.lms.kind == "totara":
        from sidecar.commands.check_totara import check_totara  # Totara's own report
        check_totara(ctx, settings, as_json)
    enabled = [k for k, on in settings.features.model_dump().items() if on]
    client = build_client(settings.lms)
    try:
        site = client.site_info()
    except e.FunctionNotInServiceError as exc:
        _fail(ctx, as_json, NOT_READY, settings.lms.url,
              "the site accepted the token, but core_webservice_get_site_info is not in its "
              f"service: add core_webservice_get_site_info to the external service "
              f"'{settings.lms.service}'", exc, fix_hints)
    except (e.LmsAuthError, e.LmsConnectionError, e.LmsResponseError) as exc:
        _fail(ctx, as_json, UNREACHABLE, settings.lms.url, _why(exc), exc, fix_hints)
    readiness = assess(site, enabled, settings.lms.service)
    readiness = replace(readiness, notes=(*readiness.notes, *_manager_role_notes(
        settings.goals.manager_role, "goals" in enabled)))
    store_status = check_report.store_status(settings)
    code = OK if readiness.ready and store_status.ok else NOT_READY
    hints = fix_hints_for(settings, readiness, store_status) if fix_hints else None
    if as_json:
        report = _as_json(settings.lms.url, readiness, store_status, code)
        if hints is not None:
            report["hints"] = [{"step": h.step, "guide": h.section} for h in hints]
        click.echo(json.dumps(report, indent=2))
    else:
        _render(ctx, settings.lms.url, readiness, store_status)
        if hints is not None:
            _render_hints(ctx, hints)
    raise click.exceptions.Exit(code)


def fix_hints_for(settings: Settings, readiness: Readiness,
                  store_status: check_report.StoreStatus) -> list[Hint]:
    """The admin steps still missing for these settings and this verdict."""
    return fix_hints(readiness, store_ok=store_status.ok,
                     manager_role=settings.goals.manager_role,
                     coach_token=settings.followups.coach.resolved_token is not None,
                     report_id=settings.webhooks.report.id)


def _render_hints(ctx: CliContext, hints: list[Hint]) -> None:
    if not hints:
        ctx.out.print("No admin steps missing.", highlight=False)
        return
    ctx.out.print("Admin steps still missing (the guide explains each):", highlight=False)
    for number, hint in enumerate(hints, 1):
        ctx.out.print(f"  {number}. {hint.step}\n     -> {hint.section}", highlight=False)


def _why(exc: e.LmsError) -> str:
    if isinstance(exc, e.InvalidTokenError):
        return ("the site refused the token: it is unknown, expired or restricted to other IP "
                "addresses (Site administration > Server > Web services > Manage tokens)")
    if isinstance(exc, e.LmsConnectionError):
        return f"the site cannot be reached: {exc.message}"
    return exc.message


def _fail(ctx: CliContext, as_json: bool, code: int, url: str, reason: str,
          exc: e.LmsError, hints: bool = False) -> None:
    hint = failure_hint(reason) if hints else None
    if as_json:
        report: dict[str, object] = {"site": url, "ready": False, "error": reason,
                                     "errorcode": getattr(exc, "errorcode", None),
                                     "exit_code": code}
        if hint is not None:
            report["hints"] = [{"step": hint.step, "guide": hint.section}]
        click.echo(json.dumps(report, indent=2))
    else:
        ctx.out.print(f"[bold red]✗[/] {url}: {reason}", highlight=False)
        if hint is not None:
            _render_hints(ctx, [hint])
    raise click.exceptions.Exit(code)


def _who(site: SiteInfo) -> str:
    admin = ", a site administrator" if site.userissiteadmin else ""
    return f"{site.fullname} ({site.username}, user id {site.userid}{admin})"


def _render(ctx: CliContext, url: str, readiness: Readiness,
            store_status: check_report.StoreStatus) -> None:
    site = readiness.site
    out = ctx.out
    out.print(f"[green]✓[/] Site answers: {url} — “{site.sitename}”, Moodle {site.release}",
              highlight=False)
    out.print(f"[green]✓[/] Token acts as {_who(site)}; its service offers "
              f"{len(site.function_names)} functions", highlight=False)
    check_report.print_store(ctx, store_status)
    for note in readiness.notes:
        out.print(f"[yellow]![/] {note}", highlight=False)
    table = Table(title="Features", title_justify="left")
    table.add_column("Feature")
    table.add_column("Status")
    table.add_column("Missing from the service")
    for item in readiness.features:
        if not item.enabled:
            status = "[dim]switched off[/]"
        elif item.ready:
            status = "[green]ready[/]"
        elif item.setting_off:
            status = f"[red]{item.setting_off} is off on the site[/]"
        else:
            status = f"[red]{len(item.missing)} missing[/]"
        missing = [f"{r.function} ({r.why})" for r in item.missing]
        missing += [f"[dim]optional: {r.function} ({r.why})[/]" for r in item.missing_optional]
        table.add_row(item.feature.title, status, "\n".join(missing) or "—")
    out.print(table)
    fixes = readiness.fixes()
    if fixes:
        out.print("To fix (Site administration > Server > Web services > External services > "
                  f"'{readiness.service}' > Functions):", highlight=False)
        for step in fixes:
            out.print(f"  • {step}", highlight=False)
    elif store_status.ok:
        out.print("[bold green]Ready.[/]")


def _as_json(url: str, readiness: Readiness, store_status: check_report.StoreStatus,
             code: int) -> dict[str, object]:
    site = readiness.site
    return {
        "site": url,
        "sitename": site.sitename,
        "release": site.release,
        "version": site.version,
        "user": {"id": site.userid, "username": site.username, "fullname": site.fullname,
                 "siteadmin": site.userissiteadmin},
        "service": readiness.service,
        "ready": readiness.ready and store_status.ok,
        "features": [
            {"key": f.feature.key, "title": f.feature.title, "enabled": f.enabled,
             "ready": f.ready, "setting_off": f.setting_off,
             "missing": [r.function for r in f.missing],
             "missing_optional": [r.function for r in f.missing_optional]}
            for f in readiness.features
        ],
        "fixes": readiness.fixes(),
        "store": check_report.store_json(store_status),
        "notes": list(readiness.notes),
        "exit_code": code,
    }


def _manager_role_notes(role: int | None, goals_on: bool) -> tuple[str, ...]:
    """What check can say about goals.manager_role. Moodle's web services have no function to
    read roles or what a role may be assigned to, and check writes nothing, so the role itself
    is verified by the first `goals apply` (Moodle answers a bare invalidparameter for a role
    not assignable in the user context, contract 142; apply names the fix)."""
    if not goals_on:
        return ()
    if role is None:
        return ("goals.manager_role is not set: goal managers get no role in their employees' "
                "user context, so they cannot see the employees' plans in Moodle",)
    return (f"goals.manager_role {role}: Moodle's web services cannot read roles, so check "
            f"cannot tell whether role {role} exists and may be assigned in the user context; "
            "the first `sidecar goals apply` verifies it and names the fix if Moodle refuses. "
            "The role needs 'User' among its context types and moodle/competency:planview, "
            "planviewdraft and usercompetencyview",)
