"""What the Moodle and Totara reports of ``sidecar check`` share: the state store's status,
the failure line (or JSON) with its exit code, and the marks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

import store
from config import Settings
from sidecar.context import CliContext
from sidecar.wiring import open_store

OK_MARK = "[green]✓[/]"
BAD_MARK = "[red]✗[/]"
NOTE_MARK = "[yellow]![/]"


@dataclass(frozen=True)
class StoreStatus:
    url: str
    ok: bool
    detail: str


def store_status(settings: Settings) -> StoreStatus:
    """Can the state store be opened and migrated?"""
    url = settings.store.url
    shown = store.display_url(url)
    try:
        engine = open_store(settings)
        revision = store.current_revision(engine)
        engine.dispose()
    except (SQLAlchemyError, store.StoreError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return StoreStatus(shown, False, f"cannot open the state store: {reason}")
    return StoreStatus(shown, True, f"schema up to date (revision {revision})")


def print_store(ctx: CliContext, status: StoreStatus) -> None:
    mark = OK_MARK if status.ok else BAD_MARK
    ctx.out.print(f"{mark} State store {status.url}: {status.detail}", highlight=False)


def store_json(status: StoreStatus) -> dict[str, object]:
    return {"url": status.url, "ok": status.ok, "detail": status.detail}


def fail(ctx: CliContext, as_json: bool, code: int, url: str, reason: str,
         errorcode: str | None) -> NoReturn:
    """Report that the site could not be checked at all, and exit with ``code``."""
    if as_json:
        click.echo(json.dumps({"site": url, "ready": False, "error": reason,
                               "errorcode": errorcode, "exit_code": code}, indent=2))
    else:
        ctx.out.print(f"[bold red]✗[/] {url}: {reason}", highlight=False)
    raise click.exceptions.Exit(code)
