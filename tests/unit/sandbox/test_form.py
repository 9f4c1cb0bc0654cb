"""The sandbox's form parse equals the reference parse (``parse_qsl`` + the plain nested build)."""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import pytest

from connector.sandbox.form import _decoded, form_pairs, parse_php_form

# Pieces a body is drawn from: separators, escapes (valid, invalid, truncated, lower case,
# UTF-8 and broken UTF-8), backslashes (``unicode_escape`` syntax), brackets, raw non-ASCII.
ATOMS = [
    "&", "&", "=", "=", "+", "a", "b", "x", "0", "7", "[", "]", "[]", "[0]", "[b]", "%",
    "%%", "%2", "%zz", "%5B", "%5d", "%26", "%3D", "%2B", "%20", "%C3%A9", "%c3%a9", "%E2%82",
    "%E2%82%AC", "%FF", "%00", "%0A", "\\", "\\x41", "\\\\", "\\u0041", "\\N{BULLET}", "%5C",
    "%5Cx41", "é", "€", "\n", "\r", " ", ";",
]

# What a client that percent-encodes sends: the whole body is decoded at once.
FAST_ATOMS = [
    "&", "&", "=", "=", "+", "a", "x", "0", "[", "]", "[]", "[0]", "%5B", "%5d", "%26", "%3D",
    "%3d", "%2B", "%20", "%C3%A9", "%c3%a9", "%E2%82", "%E2%82%AC", "%FF", "%0A", "%0D", "%5C",
    "%5Cx41", "%5C%5C", "\\", "\\x41", "\\\\", "\\u0041", "%02", "%7F", "%80", "%ED%A0%80",
]


def reference_pairs(raw: bytes) -> list[tuple[str, str]]:
    """The parse the sandbox did before ``form_pairs``."""
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


def reference_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The nested build the sandbox did before, kept here verbatim as the reference."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        base, bracket, rest = name.partition("[")
        if not bracket:
            result[name] = value
            continue
        keys = [base, *re.findall(r"\[([^\]]*)\]", "[" + rest)]
        target: dict[str, Any] = result
        for index, key in enumerate(keys):
            last = index == len(keys) - 1
            if key == "":
                key = str(len(target))
            if last:
                target[key] = value
            else:
                child = target.get(key)
                if not isinstance(child, dict):
                    child = {}
                    target[key] = child
                target = child
    return result


def random_bodies(count: int, seed: int, atoms: list[str] = ATOMS) -> list[bytes]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 40)))
        raw = text.encode("utf-8")
        if atoms is ATOMS and rng.random() < 0.1:  # a stray byte that is not UTF-8
            cut = rng.randint(0, len(raw))
            raw = raw[:cut] + bytes([rng.choice([0x80, 0xC3, 0xFF])]) + raw[cut:]
        bodies.append(raw)
    return bodies


def message_body(count: int) -> bytes:
    """A send_instant_messages body as the client encodes it: brackets and HTML escaped."""
    pairs = [("wstoken", "t" * 32), ("wsfunction", "core_message_send_instant_messages"),
             ("moodlewsrestformat", "json")]
    for n in range(count):
        pairs += [
            (f"messages[{n}][touserid]", str(100 + n)),
            (f"messages[{n}][text]", f'<p>Hi Zoë {n}, <a href="https://x.example/p?a=1&b=2">'
                                     f"go</a> 100% sure \\x41 + &ndash; 5€</p><p>Ref: r-{n}</p>"),
            (f"messages[{n}][textformat]", "1"), (f"messages[{n}][clientmsgid]", f"c-{n}"),
        ]
    return urlencode(pairs).encode("ascii")


@pytest.mark.parametrize("seed", range(8))
def test_pairs_equal_parse_qsl_on_random_bodies(seed: int) -> None:
    for raw in random_bodies(2500, seed):
        assert form_pairs(raw) == reference_pairs(raw), raw


@pytest.mark.parametrize("seed", range(4))
def test_pairs_decoded_at_once_equal_parse_qsl(seed: int) -> None:
    for raw in random_bodies(2500, seed + 50, FAST_ATOMS):
        assert _decoded(raw) is not None, raw
        assert form_pairs(raw) == reference_pairs(raw), raw


@pytest.mark.parametrize("raw", [
    b"a=%00&b=1", b"a%01=1", b"a=\x00", b"a=\x01=b", b"%00=%01", b"a=1&%00", b"a=%0", b"a=%g0",
    b"", b"&", b"&&a=1&&", b"a", b"a=", b"=", b"=x", b"a=b=c", b"a+b=c+d", b"a=%", b"a=%4",
    b"a=%41%", b"a=%%41", b"a=%41%42", b"a=%e2%82%ac", b"a=%E2%82", b"a=%FF%FE", b"a=\\x41",
    b"a=\\%41", b"a=%5Cx41", b"a=\\", b"a=%\\41", b"a=\\u00e9", b"a=\\N{BULLET}%41",
    "a=é%C3%A9".encode(), b"a=\xc3%A9", b"a=%C3\xa9", b"a[b][]=1&a[b][]=2&a[]=3",
])
def test_pairs_equal_parse_qsl_on_edge_cases(raw: bytes) -> None:
    assert form_pairs(raw) == reference_pairs(raw)


@pytest.mark.parametrize("seed", range(4))
def test_nested_form_equals_the_reference_on_random_bodies(seed: int) -> None:
    for raw in random_bodies(2500, seed + 100):
        for limit in (0, 1, 3, 1000):
            pairs = form_pairs(raw)[:limit]
            assert parse_php_form(pairs) == reference_form(pairs), (raw, limit)


@pytest.mark.parametrize("names", [
    ["a[b][c]", "a[b]", "a[b][d]"], ["a", "a[0]", "a"], ["a[]", "a[]", "a[5]", "a[]"],
    ["a[0][]", "a[0][]", "a[][x]"], ["[", "[]", "", "[x]", "]"], ["a[b]c[d]", "a[b", "a]b[c]"],
    ["a[[b]]", "a[b]]", "a[ ]", "a[é][€]"], ["m[0][t]", "m[0]", "m[0][t]"],
])
def test_nested_form_equals_the_reference_on_brackets_and_repeats(names: list[str]) -> None:
    pairs = [(name, f"v{n}") for n, name in enumerate(names)]
    assert parse_php_form(pairs) == reference_form(pairs)
    raw = "&".join(f"{quote_plus(name)}={value}" for name, value in pairs).encode()
    assert parse_php_form(form_pairs(raw)) == reference_form(reference_pairs(raw))


def test_a_batch_of_html_messages_parses_as_before() -> None:
    raw = message_body(100)
    assert _decoded(raw) is not None
    pairs = form_pairs(raw)
    assert pairs == reference_pairs(raw)
    form = parse_php_form(pairs)
    assert form == reference_form(reference_pairs(raw))
    assert form["messages"]["7"]["text"].startswith("<p>Hi Zoë 7, <a href=")
    assert "100% sure \\x41 + &ndash; 5€" in form["messages"]["99"]["text"]


def test_over_max_input_vars_the_tail_is_dropped_as_before() -> None:
    raw = message_body(300)  # 3 + 1,200 variables
    for limit in (1000, 5000, 403, 1):
        cut = form_pairs(raw)[:limit]
        assert cut == reference_pairs(raw)[:limit]
        assert parse_php_form(cut) == reference_form(cut)
    messages = parse_php_form(form_pairs(raw)[:1000])["messages"]
    assert len(messages) == 250 and "clientmsgid" not in messages["249"]
