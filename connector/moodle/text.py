"""How Moodle stores and returns text, so that values can be compared the way Moodle sees them.

Moodle does not hand back exactly what it was given: names pass through ``format_string``
(tags stripped, a bare ``&`` escaped to ``&amp;``, contract 22 and 164), rich text through
``format_text`` and HTML Purifier (``<br>`` comes back as ``<br />``). A comparison that
ignored this would see a change on every sync of unchanged input.
"""

from __future__ import annotations

import html
import re

from lxml import etree
from lxml import html as lxml_html

_BARE_AMPERSAND = re.compile(r"&(?!(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#x[0-9a-fA-F]+);)")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def format_string(text: str) -> str:
    """Moodle's ``format_string`` with default settings: tags stripped, bare ``&`` escaped."""
    return _BARE_AMPERSAND.sub("&amp;", _TAG.sub("", text))


def plain_name(text: str) -> str:
    """A name as a person reads it: Moodle's escaping undone (``&amp;`` back to ``&``)."""
    return html.unescape(text)


def same_name(wanted: str, stored: str) -> bool:
    """True when Moodle holding ``stored`` means it holds ``wanted``."""
    return format_string(wanted) == stored or plain_name(format_string(wanted)) == plain_name(
        stored
    )


def comparable_html(text: str) -> str:
    """Rich text reduced to what HTML cleaning keeps: tags normalised, whitespace folded.

    ``<p>a<br>b</p>`` and ``<p>a<br />b</p>`` compare equal; text and tag changes do not.
    """
    stripped = text.strip()
    if not stripped:
        return ""
    if "<" not in stripped:
        return _SPACE.sub(" ", html.unescape(stripped))
    try:
        fragments = lxml_html.fragments_fromstring(stripped)
    except (etree.ParserError, ValueError):
        return _SPACE.sub(" ", stripped)
    parts = []
    for fragment in fragments:
        if isinstance(fragment, str):
            parts.append(html.escape(fragment, quote=False))
        else:
            parts.append(etree.tostring(fragment, encoding="unicode", method="xml",
                                        with_tail=True))
    return _SPACE.sub(" ", "".join(parts)).replace("> <", "><").strip()
