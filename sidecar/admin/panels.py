"""Numbers on the admin dashboard, contributed by each feature without the admin knowing it.

A feature registers ``(title, function(session, settings) -> list[(label, value)])``; the
dashboard shows every panel. A panel whose function fails shows the failure instead of
breaking the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from config import Settings

Rows = list[tuple[str, str | int]]


@dataclass(frozen=True)
class Panel:
    title: str
    rows: Callable[[Session, Settings], Rows]


PANELS: list[Panel] = []


def register_panel(title: str, rows: Callable[[Session, Settings], Rows]) -> None:
    """Add a dashboard panel (once per title; registering again replaces it)."""
    PANELS[:] = [p for p in PANELS if p.title != title]
    PANELS.append(Panel(title, rows))


LINKS: list[tuple[str, str]] = []


def register_link(label: str, endpoint: str) -> None:
    """Add a page to the admin navigation (``endpoint`` is a Flask endpoint name)."""
    if (label, endpoint) not in LINKS:
        LINKS.append((label, endpoint))
