"""HR Import competency files: the way competencies reach Totara (its API cannot write them).

One CSV file with the contract's columns (``idnumber, fullname, shortname, deleted,
description, frameworkidnumber, parentidnumber, typeidnumber, timemodified``), written
atomically into the folder HR Import reads: first to a hidden temporary name in the same
folder, flushed to disk, then renamed, so Totara's cron never picks up half a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from connector.errors import LmsError

COLUMNS = ("idnumber", "fullname", "shortname", "deleted", "description", "frameworkidnumber",
           "parentidnumber", "typeidnumber", "timemodified")


class HrImportError(LmsError):
    """The HR Import folder cannot be written (missing, not a folder, no permission)."""


@dataclass(frozen=True)
class CompetencyRow:
    """One row of an HR Import competency file."""

    idnumber: str
    fullname: str
    frameworkidnumber: str
    shortname: str = ""
    description: str = ""
    parentidnumber: str = ""
    typeidnumber: str = ""
    deleted: bool = False
    timemodified: int = 0

    def same_content(self, other: CompetencyRow) -> bool:
        """Equal in every column but ``timemodified``."""
        return self.changed_columns(other) == ()

    def changed_columns(self, other: CompetencyRow) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self) if f.name != "timemodified"
                     and getattr(self, f.name) != getattr(other, f.name))

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CompetencyRow:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]


def render_csv(rows: Iterable[CompetencyRow]) -> str:
    """The file's text: a header of the contract's columns, one line per row, ``\\r\\n``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        values = row.to_dict()
        values["deleted"] = "1" if row.deleted else "0"
        writer.writerow([values[column] for column in COLUMNS])
    return buffer.getvalue()


def write_competency_file(directory: Path, name: str, rows: Iterable[CompetencyRow]) -> Path:
    """Write ``rows`` as ``directory/name`` atomically and return the path.

    Raises:
        HrImportError: the folder is missing or cannot be written (the message says which).
    """
    if not directory.is_dir():
        raise HrImportError(f"the HR Import folder {directory} does not exist: create it, or "
                            "set totara.hr_import_dir to HR Import's 'Files directory'")
    text = render_csv(rows)
    target = directory / name
    temporary: Path | None = None
    try:
        handle, name_used = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        temporary = Path(name_used)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(target)
    except OSError as exc:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise HrImportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target
