"""The form POST both Moodle calls and logins take: the same request requests would send."""

import random
from urllib.parse import urlencode

import pytest
import requests
import responses

from connector import http
from connector.http import Timeouts
from tests.unit.connector.conftest import REST

FIELDS = [("wstoken", "t"), ("wsfunction", "f"), ("competency[shortname]", "Ça & co"),
          ("competency[description]", "<p>a+b=c</p>")]


def _form(session: requests.Session) -> requests.Response:
    return http.post_form(session, REST, FIELDS, site="https://moodle.example.org",
                          timeouts=Timeouts(), verify=True, where={})


def test_a_form_post_sends_exactly_what_requests_sends_for_the_same_fields(rsps) -> None:
    rsps.add(responses.POST, REST, json={})
    session = http.session_for(REST, pool_size=2)
    _form(session)
    http.post(session, REST, site="s", timeouts=Timeouts(), verify=True, where={},
              data=FIELDS)
    fast, full = (call.request for call in rsps.calls)
    assert fast.url == full.url
    assert fast.body == full.body
    assert dict(fast.headers) == dict(full.headers)
    assert fast.headers["User-Agent"] == http.USER_AGENT


def test_a_cookie_the_site_sets_is_sent_with_the_next_call(rsps) -> None:
    rsps.add(responses.POST, REST, json={}, headers={"Set-Cookie": "lb=node2; Path=/"})
    rsps.add(responses.POST, REST, json={})
    session = http.session_for(REST, pool_size=2)
    _form(session)
    _form(session)
    assert "Cookie" not in rsps.calls[0].request.headers
    assert rsps.calls[1].request.headers["Cookie"] == "lb=node2"


@pytest.mark.parametrize("value", [
    "", "plain", "two words", "a+b=c&d", "<p class=\"x\">Tell us &ndash; how</p>\n\t",
    "Ünïcode ✓ 𝄞", "~_.-!*'();:@$,/?#[]%", "".join(chr(c) for c in range(128))])
def test_form_encoding_is_urlencode_character_for_character(value: str) -> None:
    fields = [("messages[0][text]", value), (value, "1"), ("wsfunction", "core_x")]
    assert http.form_encode(fields) == urlencode(fields)


def test_form_encoding_refuses_what_utf_8_cannot_carry_as_urlencode_does() -> None:
    with pytest.raises(UnicodeEncodeError):
        urlencode([("text", "\ud800")])
    with pytest.raises(UnicodeEncodeError):
        http.form_encode([("text", "\ud800")])


_ALPHABETS = [
    "".join(chr(c) for c in range(128)),
    "<p>&ndash;\"'=/:;,()[]!?#%+ </p>\n\tabcXYZ019_.-~",
    "Ünïcode ✓ é ß ĳ ☃ 中文 Ωμ",
    "𝄞😀👍🏽 \u200d",
]


@pytest.mark.parametrize("seed", range(40))
def test_form_encoding_of_random_fields_is_urlencode_character_for_character(
        seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "".join(rng.sample(_ALPHABETS, rng.randint(1, len(_ALPHABETS))))

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))

    fields = [(text(), text()) for _ in range(rng.randint(0, 30))]
    assert http.form_encode(fields) == urlencode(fields)


@pytest.mark.parametrize("fields", [
    [], [("", "")], [("a", "")], [("", "b")], [("a\x00b", "c")], [("a", "b\x01c")],
    [("%2B", "+ %20")], [("a", "b"), ("c", "d\x00"), ("e\x01", "f")]])
def test_form_encoding_of_empty_and_separator_holding_fields_is_urlencode(
        fields: list[tuple[str, str]]) -> None:
    assert http.form_encode(fields) == urlencode(fields)


@pytest.mark.parametrize("fields", [
    [("text", "ok <p>\ud800</p>")], [("a\x00", "\udfff")], [("\ud83d", "1"), ("b", "2")]])
def test_a_lone_surrogate_anywhere_is_refused_as_urlencode_refuses_it(
        fields: list[tuple[str, str]]) -> None:
    with pytest.raises(UnicodeEncodeError):
        urlencode(fields)
    with pytest.raises(UnicodeEncodeError):
        http.form_encode(fields)
