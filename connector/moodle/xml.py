"""Moodle's XML response format (``moodlewsrestformat=xml``), parsed safely with lxml.

The shapes (contract 02, 68, 163-165)::

    <RESPONSE><SINGLE><KEY name="id"><VALUE>5</VALUE></KEY>...</SINGLE></RESPONSE>
    <RESPONSE><MULTIPLE><SINGLE>...</SINGLE>...</MULTIPLE></RESPONSE>
    <VALUE null="null"/>                          -> None
    <EXCEPTION class="..."><ERRORCODE>..</ERRORCODE><MESSAGE>..</MESSAGE></EXCEPTION>

The parser never expands entities, never loads a DTD or touches the network, refuses a
DOCTYPE outright (Moodle never sends one), and bounds the body size and nesting depth.
Values come back as strings: the typed result models turn them into the same Python
values the JSON format gives.
"""

from __future__ import annotations

from lxml import etree

from connector.errors import LmsResponseError

MAX_XML_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def parse_xml(body: bytes) -> object:
    """Turn a Moodle XML body into Python values (dict, list, str, None).

    An ``<EXCEPTION>`` comes back as the same dict a JSON error body would give
    (``exception``, ``errorcode``, ``message``, ``debuginfo``), so that one piece of
    code maps errors for both formats.

    Raises:
        LmsResponseError: the body is too large, not well-formed, or not Moodle's shape.
    """
    if len(body) > MAX_XML_BYTES:
        raise LmsResponseError(f"XML answer of {len(body)} bytes is larger than {MAX_XML_BYTES}")
    if b"<!DOCTYPE" in body[:4096].upper() or b"<!ENTITY" in body.upper():
        raise LmsResponseError("XML answer declares a DOCTYPE or entities; refused")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise LmsResponseError(f"XML answer is not well-formed: {exc}") from exc
    if root.tag == "EXCEPTION":
        return _exception(root)
    if root.tag != "RESPONSE":
        raise LmsResponseError(f"XML answer has root <{root.tag}>, expected <RESPONSE>")
    children = list(root)
    if not children:
        return None
    return _value(children[0], 1)


def _exception(root: etree._Element) -> dict[str, str | None]:
    def text(tag: str) -> str | None:
        node = root.find(tag)
        return node.text if node is not None else None

    return {
        "exception": root.get("class"),
        "errorcode": text("ERRORCODE"),
        "message": text("MESSAGE") or "",
        "debuginfo": text("DEBUGINFO"),
    }


def _value(node: etree._Element, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise LmsResponseError(f"XML answer nests deeper than {MAX_DEPTH} levels")
    if node.tag == "VALUE":
        if node.get("null") == "null":
            return None
        return node.text or ""
    if node.tag == "MULTIPLE":
        return [_value(child, depth + 1) for child in node]
    if node.tag == "SINGLE":
        result: dict[str, object] = {}
        for key in node:
            if key.tag != "KEY" or key.get("name") is None:
                raise LmsResponseError(f"XML answer has <{key.tag}> inside <SINGLE>")
            inner = list(key)
            result[str(key.get("name"))] = _value(inner[0], depth + 1) if inner else None
        return result
    raise LmsResponseError(f"XML answer has unexpected element <{node.tag}>")
