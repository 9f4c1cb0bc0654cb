"""Writes a framework as a CASE 1.1 JSON package (see `sync.sources.case` for the mapping)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import html

from sync.model import Competency, DescriptionFormat, Framework

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/lms-sidecar/case")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def write_case(
    framework: Framework,
    path: Path | str,
    *,
    creator: str = "lms-sidecar",
    changed: datetime | None = None,
    base_uri: str | None = None,
) -> None:
    """Write a framework as a CASE JSON package file (see `dumps_case`)."""
    text = dumps_case(framework, creator=creator, changed=changed, base_uri=base_uri)
    Path(path).write_text(text, encoding="utf-8")


def dumps_case(
    framework: Framework,
    *,
    creator: str = "lms-sidecar",
    changed: datetime | None = None,
    base_uri: str | None = None,
) -> str:
    """The framework as CASE JSON text.

    `changed` is the lastChangeDateTime of every object (default: now, UTC); `base_uri`, when
    given, makes each `uri` `{base_uri}/CFItems/{identifier}` and so on, else `urn:uuid:...`.
    """
    stamp = (changed or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    writer = _Writer(framework, stamp, base_uri)
    return json.dumps(writer.package(creator), indent=2, ensure_ascii=False) + "\n"


def case_identifier(*parts: str) -> str:
    """A CASE identifier for an idnumber: itself when it is a UUID, else a stable UUIDv5."""
    if len(parts) == 1 and _UUID.match(parts[0]):
        return parts[0]
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def plain_text(text: str, descriptionformat: int) -> str:
    """Description text for CASE: HTML (Moodle or HTML format) reduced to its text."""
    if descriptionformat not in (DescriptionFormat.HTML, DescriptionFormat.MOODLE):
        return text
    if not text.strip() or "<" not in text:
        return text
    root = html.fragment_fromstring(text, create_parent="div")
    for element in root.iter("br"):
        element.tail = "\n" + (element.tail or "")
    for element in root.iter("p", "div", "li", "h1", "h2", "h3", "h4", "tr"):
        element.tail = "\n" + (element.tail or "")
    lines = (line.strip() for line in str(root.text_content()).splitlines())
    return "\n".join(line for line in lines if line)


class _Writer:
    def __init__(self, framework: Framework, stamp: str, base_uri: str | None) -> None:
        self.framework = framework
        self.stamp = stamp
        self.base_uri = base_uri.rstrip("/") if base_uri else None
        self.doc_id = case_identifier(framework.idnumber)
        self.ids = {
            c.idnumber: case_identifier(c.idnumber)
            if _UUID.match(c.idnumber)
            else case_identifier(framework.idnumber, c.idnumber)
            for c in framework.competencies
        }

    def _uri(self, kind: str, identifier: str) -> str:
        if self.base_uri:
            return f"{self.base_uri}/{kind}/{identifier}"
        return f"urn:uuid:{identifier}"

    def _link(self, kind: str, identifier: str, title: str) -> dict[str, str]:
        return {"title": title, "identifier": identifier, "uri": self._uri(kind, identifier)}

    def package(self, creator: str) -> dict[str, Any]:
        framework = self.framework
        document: dict[str, Any] = {
            "identifier": self.doc_id,
            "uri": self._uri("CFDocuments", self.doc_id),
            "creator": creator,
            "title": framework.shortname,
            "lastChangeDateTime": self.stamp,
        }
        description = plain_text(framework.description, framework.descriptionformat)
        if description:
            document["description"] = description
        if not framework.visible:
            document["adoptionStatus"] = "Deprecated"
        ordered = list(framework.iter_tree())
        return {
            "CFDocument": document,
            "CFItems": [self._item(c) for c in ordered],
            "CFAssociations": [a for c in ordered for a in self._associations(c)],
        }

    def _item(self, competency: Competency) -> dict[str, Any]:
        identifier = self.ids[competency.idnumber]
        description = plain_text(competency.description, competency.descriptionformat)
        item: dict[str, Any] = {
            "identifier": identifier,
            "uri": self._uri("CFItems", identifier),
            "fullStatement": description or competency.shortname,
            "lastChangeDateTime": self.stamp,
        }
        if description:
            item["abbreviatedStatement"] = competency.shortname
        if identifier != competency.idnumber:
            item["humanCodingScheme"] = competency.idnumber
        if self.framework.taxonomies:
            item["CFItemType"] = self.framework.taxonomy(self.framework.depth(competency.idnumber))
        return item

    def _associations(self, competency: Competency) -> list[dict[str, Any]]:
        origin = self._node(competency.idnumber)
        if competency.parent is None:
            parent = self._link("CFDocuments", self.doc_id, self.framework.shortname)
            siblings = self.framework.children_of(None)
        else:
            parent = self._node(competency.parent)
            siblings = self.framework.children_of(competency.parent)
        position = next(n for n, c in enumerate(siblings, start=1) if c is competency)
        result = [self._association("isChildOf", origin, parent, position)]
        result += [
            self._association("isRelatedTo", origin, self._node(other), None)
            for other in competency.related
        ]
        return result

    def _node(self, idnumber: str) -> dict[str, str]:
        competency = self.framework.get(idnumber)
        return self._link("CFItems", self.ids[idnumber], competency.shortname)

    def _association(
        self, kind: str, origin: dict[str, str], target: dict[str, str], sequence: int | None
    ) -> dict[str, Any]:
        identifier = case_identifier(kind, origin["identifier"], target["identifier"])
        association: dict[str, Any] = {
            "identifier": identifier,
            "uri": self._uri("CFAssociations", identifier),
            "associationType": kind,
            "originNodeURI": origin,
            "destinationNodeURI": target,
            "lastChangeDateTime": self.stamp,
        }
        if sequence is not None:
            association["sequenceNumber"] = sequence
        return association
