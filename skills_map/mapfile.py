"""Adding accepted links to the mapping file, keeping what the admin wrote.

A YAML file whose ``links:`` list comes last is appended to as text, so comments and layout
stay as they were; any other YAML layout is rewritten (comments lost, said in the log). A
CSV file gets rows appended. The result is read back with the checker before it replaces
the file, so a write can never leave a file that ``sidecar map plan`` refuses.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from skills_map.mapping import CSV_COLUMNS, Outcome, read_mapping

log = logging.getLogger(__name__)

HEADER = ("# Skills map: which courses build which competencies (see README, \"Skills map\").\n"
          "# Checked by `sidecar map plan`; nothing reaches the LMS until `sidecar map apply`.\n")


@dataclass(frozen=True)
class NewLink:
    course: str
    framework: str
    competency: str
    outcome: Outcome


def add_links(path: Path, links: Sequence[NewLink]) -> None:
    """Add ``links`` to the mapping file at ``path`` (created when missing).

    Raises:
        MappingError: the file would not read back cleanly (it is left unchanged).
    """
    if not links:
        return
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if path.suffix.lower() == ".csv":
        new = _csv(old, links)
    else:
        appended = _yaml_append(old, links)
        if appended is None:
            log.warning("%s: rewritten to add links (its comments are not kept)", path)
        new = appended if appended is not None else _yaml_rewrite(old, links)
    _replace_checked(path, new)


def _replace_checked(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        read_mapping(temp)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)


def _csv(old: str, links: Sequence[NewLink]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if not old.strip():
        writer.writerow(CSV_COLUMNS)
    for link in links:
        writer.writerow([link.course, link.competency, link.outcome.label, link.framework])
    prefix = old if not old or old.endswith("\n") else old + "\n"
    return prefix + out.getvalue()


def _entry(link: NewLink, indent: str) -> str:
    return (f"{indent}- course: {_quote(link.course)}\n"
            f"{indent}  competencies:\n"
            f"{indent}    - {{idnumber: {_quote(link.competency)}, "
            f"framework: {_quote(link.framework)}, outcome: {link.outcome.label}}}\n")


def _quote(text: str) -> str:
    dumped = yaml.safe_dump(text, default_flow_style=True, width=10_000).strip()
    return dumped.removesuffix("...").strip()


def _yaml_append(old: str, links: Sequence[NewLink]) -> str | None:
    """``old`` with entries appended under its final ``links:`` list; None when the layout
    does not allow appending text safely."""
    if not old.strip():
        return HEADER + "links:\n" + "".join(_entry(link, "  ") for link in links)
    root = yaml.compose(old, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return None
    key, value = root.value[-1]
    if key.value != "links" or not isinstance(value, yaml.SequenceNode):
        return None
    if value.flow_style or not value.value:
        return None
    indent = " " * max(value.value[0].start_mark.column - 2, 0)
    prefix = old if old.endswith("\n") else old + "\n"
    return prefix + "".join(_entry(link, indent) for link in links)


def _yaml_rewrite(old: str, links: Sequence[NewLink]) -> str:
    data = yaml.safe_load(old) if old.strip() else {}
    if not isinstance(data, dict):
        data = {}
    existing = data.get("links")
    entries: list[object] = list(existing) if isinstance(existing, list) else []
    entries += [{"course": link.course, "competencies": [
        {"idnumber": link.competency, "framework": link.framework,
         "outcome": link.outcome.label}]} for link in links]
    data["links"] = entries
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
