"""Moodle's wire encodings: PHP ``json_encode``, the REST server's XML, and text formatting."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from lxml import etree

from connector.sandbox.errors import MoodleError

XML_HEADER = '<?xml version="1.0" encoding="UTF-8" ?>\n'
_TAG = re.compile(r"<[^>]*>")
_BOLD = re.compile(r"<(b|strong)>(.*?)</\1>", re.IGNORECASE | re.S)
_PARAGRAPH_END = re.compile(r"</p>\s*", re.IGNORECASE)


class _Absent:
    """An optional return key that is not set: JSON leaves it out, XML writes it as null."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


def _without_absent(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_absent(v) for k, v in value.items() if v is not ABSENT}
    if isinstance(value, list):
        return [_without_absent(item) for item in value]
    return value


class _Unexpected(Exception):
    """Something json cannot write as it is (ABSENT, most likely) was found."""


def _unexpected(value: object) -> object:
    raise _Unexpected


def php_json(value: object) -> str:
    """PHP's ``json_encode``: ASCII only (``\\u00fc``), slashes escaped (``<\\/p>``).

    Most answers hold no ABSENT: they are written as they are, without a copy. The first
    object json cannot write (or any other failure) sends the value the long way, through
    the copy without ABSENT keys, which then answers or fails as before.
    """
    try:
        text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_unexpected)
    except Exception:  # the long way decides what happens
        text = json.dumps(_without_absent(value), ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/")


def _upper(bold: re.Match[str]) -> str:
    return bold.group(2).upper()


def html_to_text(text: str) -> str:
    """Moodle's ``html_to_text`` as far as messages need it (bold becomes upper case)."""
    upper = _BOLD.sub(_upper, text)
    plain = _PARAGRAPH_END.sub("\n", upper)
    return html.unescape(_TAG.sub("", plain)).strip() + "\n"


def plain_to_html(text: str) -> str:
    """Moodle's ``text_to_html`` for a plain-text message: one paragraph."""
    return f"<p>{text}</p>"


def _xml_value(parent: etree._Element, value: object) -> None:
    if isinstance(value, dict):
        single = etree.SubElement(parent, "SINGLE")
        single.text = "\n"
        single.tail = "\n"
        for key, item in value.items():
            key_el = etree.SubElement(single, "KEY", name=str(key))
            key_el.tail = "\n"
            _xml_value(key_el, item)
            last = key_el[-1]
            if last.tag == "VALUE":
                last.tail = "\n"
    elif isinstance(value, list):
        multiple = etree.SubElement(parent, "MULTIPLE")
        multiple.text = "\n"
        multiple.tail = "\n"
        for item in value:
            _xml_value(multiple, item)
    elif value is None or value is ABSENT:
        etree.SubElement(parent, "VALUE", null="null").tail = "\n"
    else:
        scalar = int(value) if isinstance(value, bool) else value
        element = etree.SubElement(parent, "VALUE")
        element.text = str(scalar)
        element.tail = "\n"


def xml_response(value: object) -> str:
    """The REST server's XML: ``<RESPONSE><SINGLE><KEY name=..><VALUE>..`` / ``<MULTIPLE>``."""
    root = etree.Element("RESPONSE")
    root.text = "\n"
    if value is not None:
        _xml_value(root, value)
    return XML_HEADER + etree.tostring(root, encoding="unicode") + "\n"


def error_payload(error: MoodleError, *, debug: bool) -> dict[str, Any]:
    """The JSON error body: exception, errorcode, message, and debuginfo in developer mode."""
    body: dict[str, Any] = {"exception": error.exception_class}
    if error.errorcode is not None:
        body["errorcode"] = error.errorcode
    body["message"] = error.message
    if debug and error.debuginfo is not None:
        body["debuginfo"] = error.debuginfo
    return body


def xml_error(error: MoodleError, *, debug: bool) -> str:
    """The XML error body: ``<EXCEPTION class=..><ERRORCODE>..<MESSAGE>..[<DEBUGINFO>]``."""
    root = etree.Element("EXCEPTION", {"class": error.exception_class})
    root.text = "\n"
    children: list[tuple[str, str]] = []
    if error.errorcode is not None:
        children.append(("ERRORCODE", error.errorcode))
    children.append(("MESSAGE", error.message))
    if debug and error.debuginfo is not None:
        children.append(("DEBUGINFO", error.debuginfo))
    for tag, text in children:
        child = etree.SubElement(root, tag)
        child.text = text
        child.tail = "\n"
    return XML_HEADER + etree.tostring(root, encoding="unicode") + "\n"
