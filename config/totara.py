"""The ``totara`` section: what only a Totara site needs (``lms.kind: totara``).

Totara's external API has no competency operations, so frameworks reach Totara as HR Import
CSV files dropped in a folder that Totara's HR Import reads; the release override is for a
site whose status query cannot tell which operations it offers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TotaraSettings(BaseModel):
    """Totara-only options; ignored for a Moodle site."""

    model_config = ConfigDict(extra="forbid")

    hr_import_dir: Path | None = Field(
        default=None,
        description="Folder that Totara's HR Import reads competency CSV files from (HR Import "
        "> Sources > CSV > 'Files directory'); `sidecar apply` writes one file per run into it. "
        "A relative path is relative to the config file's folder.",
    )
    hr_import_prefix: str = Field(
        default="competency",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Start of the file names written for HR Import (Totara's CSV source for "
        "competencies expects competency.csv by default).",
    )
    release: Literal["17", "18", "19"] | None = Field(
        default=None,
        description="Treat the site as this Totara release instead of probing which operations "
        "it offers (empty: probe; `sidecar check` shows what it found).",
    )
