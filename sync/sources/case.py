"""IMS/1EdTech CASE 1.1 JSON packages (CFPackage): read them into a framework, and write them.

Reading:

- CFDocument -> the framework: `identifier` is its idnumber, `title` its name (shortened to
  Moodle's 100 characters when longer), `description` its description; an `adoptionStatus` of
  "Deprecated" makes it hidden. CASE has no scale: the framework gets `scale` (Moodle's default
  competence scale unless the caller passes another).
- CFItems -> competencies: `humanCodingScheme` (else `identifier`) is the idnumber;
  `abbreviatedStatement` is the name and `fullStatement` the description; without an
  abbreviated statement a `fullStatement` of up to 100 characters is the name (no description),
  a longer one is shortened for the name and kept whole as the description. Text is Markdown
  (CASE 1.1 allows it in statements), descriptionformat 4.
- CFAssociations `isChildOf` -> the tree (to the CFDocument: top level), siblings ordered by
  `sequenceNumber`, then by package order. Other association types (isRelatedTo, exactMatchOf,
  precedes, ...) between two items of the package become cross references (Moodle's related
  competencies); those leaving the package are skipped, since Moodle cannot hold them.
- If every item has a CFItemType and each level uses one of Moodle's taxonomy words, they
  become the framework's taxonomies.

Writing produces a package valid against the CASE 1.0/1.1 CFPackage JSON schema. Identifiers
that are not UUIDs are turned into stable UUIDv5s (the idnumber goes to humanCodingScheme), so a
framework whose idnumber is not a UUID comes back with a UUID idnumber. Scales and rules have no
place in CASE and are not written.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from sync.errors import SourceError, SourceProblem
from sync.model import (
    DEFAULT_SCALE,
    SHORTNAME_MAX,
    TAXONOMY_TERMS,
    Competency,
    DescriptionFormat,
    Framework,
    Scale,
    SourceLocation,
)
from sync.sources.case_writer import dumps_case, write_case
from sync.sources.text import read_text
from sync.sources.validate import problems as validation_problems

__all__ = ["dumps_case", "parse_case", "read_case", "write_case"]

log = logging.getLogger(__name__)
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def read_case(path: Path | str, scale: Scale = DEFAULT_SCALE) -> Framework:
    """Read a CASE JSON package into a validated framework rated on `scale`.

    Raises:
        SourceError: every problem found: bad encoding, malformed JSON, missing CASE fields,
            unknown parents, items with several parents, anything Moodle would refuse.
    """
    path = Path(path)
    return parse_case(read_text(path), str(path), scale)


def parse_case(text: str, file: str, scale: Scale = DEFAULT_SCALE) -> Framework:
    """Parse CASE JSON text; `file` names the source in problems.

    Raises:
        SourceError: see `read_case`.
    """
    try:
        package = json.loads(text)
    except json.JSONDecodeError as e:
        raise SourceError([SourceProblem(file, f"malformed JSON: {e.msg}", e.lineno)]) from e
    reader = _Reader(file)
    framework = reader.package(package, scale)
    if framework is not None:
        reader.found += validation_problems(framework)
    if reader.found or framework is None:
        raise SourceError(reader.found)
    return framework


def is_uuid(value: str) -> bool:
    """Whether a string is a UUID the way CASE writes them."""
    return bool(_UUID.match(value))


def shorten(text: str, limit: int = SHORTNAME_MAX) -> str:
    """Text cut at a word boundary to fit `limit` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,;:.") + "…"


class _Reader:
    """Builds a framework from a loaded package, collecting problems instead of stopping."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.found: list[SourceProblem] = []

    def _problem(self, reason: str, item: str | None = None) -> None:
        self.found.append(SourceProblem(self.file, reason, item=item))

    def package(self, package: object, scale: Scale) -> Framework | None:
        if not isinstance(package, dict) or not isinstance(package.get("CFDocument"), dict):
            self._problem("not a CASE package: no CFDocument object at the top")
            return None
        document = package["CFDocument"]
        doc_id = str(document.get("identifier") or "")
        if not doc_id:
            self._problem("the CFDocument has no identifier")
        title = str(document.get("title") or "")
        if not title:
            self._problem("the CFDocument has no title", doc_id or None)
        items = self._items(package.get("CFItems") or [])
        parents, related, order = self._associations(
            package.get("CFAssociations") or [], doc_id, items
        )
        competencies = [
            replace(c, parent=parents.get(key), related=tuple(related.get(key, ())))
            for key, c in items.items()
        ]
        ordered = _tree_order(competencies, order, list(items))
        return Framework(
            idnumber=doc_id,
            shortname=shorten(title),
            description=str(document.get("description") or ""),
            descriptionformat=int(DescriptionFormat.MARKDOWN),
            visible=document.get("adoptionStatus") != "Deprecated",
            scale=scale,
            taxonomies=_taxonomies(ordered, package.get("CFItems") or []),
            competencies=tuple(ordered),
            location=SourceLocation(self.file, item=doc_id or None),
        )

    def _items(self, raw: object) -> dict[str, Competency]:
        """Competencies keyed by CASE identifier, in package order (parents not yet set)."""
        items: dict[str, Competency] = {}
        if not isinstance(raw, list):
            self._problem("CFItems is not a list")
            return items
        for index, item in enumerate(raw):
            if not isinstance(item, dict) or not item.get("identifier"):
                self._problem(f"CFItems[{index}] has no identifier")
                continue
            key = str(item["identifier"])
            full = str(item.get("fullStatement") or "").strip()
            abbreviated = str(item.get("abbreviatedStatement") or "").strip()
            if not full:
                self._problem("the item has no fullStatement", key)
            if abbreviated:
                name, description = abbreviated, full
            else:
                name = shorten(full)
                description = "" if name == full else full
            code = str(item.get("humanCodingScheme") or "").strip()
            items[key] = Competency(
                idnumber=code or key,
                shortname=name,
                description=description,
                descriptionformat=int(DescriptionFormat.MARKDOWN),
                location=SourceLocation(self.file, item=key),
            )
        return items

    def _associations(
        self, raw: object, doc_id: str, items: dict[str, Competency]
    ) -> tuple[dict[str, str], dict[str, list[str]], dict[str, tuple[float, int]]]:
        parents: dict[str, str] = {}
        related: dict[str, list[str]] = {}
        order: dict[str, tuple[float, int]] = {}
        for index, association in enumerate(raw if isinstance(raw, list) else []):
            try:
                kind = str(association["associationType"])
                origin = str(association["originNodeURI"]["identifier"])
                target = str(association["destinationNodeURI"]["identifier"])
            except (TypeError, KeyError):
                self._problem(f"CFAssociations[{index}] lacks its type, origin or destination")
                continue
            if origin not in items:
                log.info("skipping %s association from %s outside the package", kind, origin)
                continue
            if kind == "isChildOf":
                self._parent(origin, target, doc_id, items, parents)
                sequence = association.get("sequenceNumber")
                number = float(sequence) if isinstance(sequence, int | float) else float("inf")
                order[origin] = (number, index)
            elif target in items and target != origin:
                idnumber = items[target].idnumber
                if idnumber not in related.setdefault(origin, []):
                    related[origin].append(idnumber)
            else:
                log.info("skipping %s association to %s outside the package", kind, target)
        return parents, related, order

    def _parent(
        self,
        origin: str,
        target: str,
        doc_id: str,
        items: dict[str, Competency],
        parents: dict[str, str],
    ) -> None:
        if target != doc_id and target not in items:
            self._problem(
                f"isChildOf names {target}, which is neither the CFDocument nor an "
                "item of the package",
                origin,
            )
            return
        parent = items[target].idnumber if target in items else ""
        if origin in parents and parents[origin] != parent:
            self._problem(
                f"the item is a child of both {parents[origin] or 'the document'!r} and "
                f"{parent or 'the document'!r}; Moodle holds one parent per competency",
                origin,
            )
            return
        parents[origin] = parent


def _tree_order(
    competencies: list[Competency], order: dict[str, tuple[float, int]], keys: list[str]
) -> list[Competency]:
    """Items with `parent` set (empty string meaning the document), siblings by sequence."""
    fixed = [replace(c, parent=c.parent or None) for c in competencies]
    rank = {
        id(c): (order.get(key, (float("inf"), len(order) + n)), n)
        for n, (key, c) in enumerate(zip(keys, fixed, strict=True))
    }
    return sorted(fixed, key=lambda c: rank[id(c)])


def _taxonomies(competencies: list[Competency], raw_items: list[Any]) -> tuple[str, ...]:
    """Moodle taxonomy words per level, if the items' CFItemTypes give exactly one per level."""
    types = {
        str(i.get("humanCodingScheme") or i.get("identifier")): str(i.get("CFItemType") or "")
        for i in raw_items
        if isinstance(i, dict)
    }
    framework = Framework("", "", competencies=tuple(competencies))
    words: list[str] = []
    for level in framework.levels():
        found = {types.get(c.idnumber, "").strip().lower() for c in level}
        if len(found) != 1 or next(iter(found)) not in TAXONOMY_TERMS:
            return ()
        words.append(found.pop())
    return tuple(words)
