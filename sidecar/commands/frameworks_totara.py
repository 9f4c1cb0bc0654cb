"""``sidecar plan`` and ``sidecar apply`` for a Totara site (lms.kind: totara): the sources
become an HR Import competency file in totara.hr_import_dir, planned against the last export."""

from __future__ import annotations

import json
from pathlib import Path

import click

import store
from connector.errors import LmsError
from sidecar.context import CHANGES_PENDING, NOT_READY, OK, CliContext
from sidecar.wiring import build_hr_import, open_store
from sync.errors import SyncError
from sync.hrimport import ExportPlan, HrImportSync


def _export(ctx: CliContext, sources: tuple[Path, ...], on_missing: str | None) -> HrImportSync:
    settings = ctx.settings()
    return build_hr_import(settings, open_store(settings), sources, on_missing)


def totara_plan(ctx: CliContext, sources: tuple[Path, ...], as_json: bool,
                on_missing: str | None) -> None:
    """Print the plan and exit 0 (nothing to export), 2 (changes pending) or 1 (error)."""
    try:
        plan = _export(ctx, sources, on_missing).plan()
    except (SyncError, LmsError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc
    if as_json:
        click.echo(plan.to_json())
    else:
        ctx.out.print(plan.render(), highlight=False)
        ctx.err.print("Compared with the last HR Import file lms-sidecar wrote (Totara's API "
                      "cannot read competencies back).", highlight=False)
    raise click.exceptions.Exit(OK if plan.is_empty else CHANGES_PENDING)


def totara_apply(ctx: CliContext, plan_file: Path | None, sources: tuple[Path, ...],
                 as_json: bool, on_missing: str | None) -> None:
    """Write the HR Import file and exit 0 (written) or 1 (error)."""
    if plan_file is not None:
        ctx.err.print("[bold red]Error:[/] a saved plan cannot be applied to a Totara site: "
                      "`sidecar apply` writes the HR Import file from the sources as they are "
                      "now; run it without a plan file", highlight=False)
        raise click.exceptions.Exit(NOT_READY)
    try:
        exported = _export(ctx, sources, on_missing).apply()
    except (SyncError, LmsError, store.StoreError) as exc:
        ctx.err.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise click.exceptions.Exit(NOT_READY) from exc
    plan: ExportPlan = exported.plan
    if as_json:
        click.echo(json.dumps({"run_id": exported.run_id, "ok": True,
                               "file": str(exported.path), "rows": len(plan.rows),
                               "changes": {a: plan.count(a) for a in (
                                   "create", "update", "delete", "missing", "unchanged")}},
                              indent=2))
    else:
        ctx.out.print(plan.render(), highlight=False)
        ctx.out.print(f"Run {exported.run_id}: wrote {len(plan.rows)} rows to {exported.path}. "
                      "Totara's HR Import picks the file up on its next cron run (HR Import > "
                      "Elements > Competency must be enabled; the framework must exist).",
                      highlight=False)
    raise click.exceptions.Exit(OK)
