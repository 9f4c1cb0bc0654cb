"""Shared test helpers: where `../shared/` is, and how to read the recorded Moodle exchanges.

The recordings are read in place from the team's shared folder (never copied into the repo).
CI checks out the clone with `shared/` beside it; SIDECAR_SHARED overrides the location.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _locate_shared() -> Path:
    candidates = [os.environ.get("SIDECAR_SHARED"), REPO.parent / "shared", REPO / "../shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "moodle-contract" / "index.json").is_file():
            return Path(candidate).resolve()
    raise RuntimeError(
        "The team's shared folder was not found beside the checkout "
        f"(looked in {REPO.parent / 'shared'}); set SIDECAR_SHARED to its path."
    )


SHARED = _locate_shared()
CONTRACT = SHARED / "moodle-contract"
SAMPLES = SHARED / "samples"


@dataclass(frozen=True)
class Exchange:
    """One recorded HTTP exchange with the real Moodle 4.5.6 site."""

    file: str
    label: str
    function: str | None
    params: list[tuple[str, str]]
    format: str
    http_status: int
    content_type: str
    body: str

    @property
    def json(self) -> object:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.params)


@cache
def contract_index() -> list[dict[str, object]]:
    return json.loads((CONTRACT / "index.json").read_text())["exchanges"]


@cache
def exchange(name: str) -> Exchange:
    """Load one recording by its file name, with or without the `.json` ending, or its number."""
    if name.isdigit():
        matches = [e["file"] for e in contract_index() if str(e["file"]).startswith(f"{name}_")]
        name = str(matches[0])
    path = CONTRACT / (name if name.endswith(".json") else f"{name}.json")
    raw = json.loads(path.read_text())
    return Exchange(
        file=path.name,
        label=raw["label"],
        function=raw["function"],
        params=[(k, v) for k, v in raw["params"]],
        format=raw["format"],
        http_status=raw["http_status"],
        content_type=raw["content_type"],
        body=raw["response_body_text"],
    )


def all_exchanges() -> list[Exchange]:
    return [exchange(str(e["file"])) for e in contract_index()]


@pytest.fixture
def shared_dir() -> Path:
    return SHARED
