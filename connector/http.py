"""The HTTP wire both transports share: timeouts, one POST, and requests' failures turned
into the package's own errors (which ones may be retried, and whether the site was reached).

Only this module and the two transports (``connector/moodle/transport.py``,
``connector/totara/transport.py``) import ``requests``.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import logging
import re
import string
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from connector import errors as e
from connector.pacing import CallStats, RateLimiter
from connector.retry import RetryPolicy

T = TypeVar("T")

USER_AGENT = "lms-sidecar (+https://github.com/lms-sidecar)"
_FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and for an answer; never unbounded."""

    connect: float = 5.0
    read: float = 30.0


def session_for(url: str, *, pool_size: int,
                session: requests.Session | None = None) -> requests.Session:
    """A session for ``url``: a connection pool for ``pool_size`` concurrent calls, no
    retries of its own (the one retry policy decides), our User-Agent, and proxy settings
    read from the environment once instead of on every call (requests would scan the
    environment and ~/.netrc per request: a third of its CPU per call)."""
    session = session or requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.trust_env = False
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(pool_size, 1), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def call_counted(name: str, send: Callable[[], T], *, retry: RetryPolicy, stats: CallStats,
                 rate_limiter: RateLimiter | None, sleep: Callable[[float], None],
                 idempotent: bool, logger: logging.Logger) -> T:
    """Run ``send`` (one request for the call ``name``) under the retry policy and the rate
    limit, log each retry on the transport's ``logger``, and count the call's outcome ("ok"
    or the error's code or kind).

    Raises:
        LmsError: the last failure, once retrying cannot help.
    """
    def attempt() -> T:
        if rate_limiter:
            rate_limiter.wait()
        return send()

    def on_retry(number: int, exc: BaseException, wait: float) -> None:
        logger.warning("%s failed (attempt %d: %s); retrying in %.1fs",
                    name, number, type(exc).__name__, wait)

    try:
        value = retry.run(attempt, idempotent=idempotent, sleep=sleep, on_retry=on_retry)
    except e.LmsError as exc:
        stats.call_finished(name, getattr(exc, "errorcode", None) or type(exc).__name__)
        raise
    stats.call_finished(name, "ok")
    return value


def post(session: requests.Session, url: str, *, site: str, timeouts: Timeouts,
         verify: bool | str, where: dict[str, Any], **kwargs: Any) -> requests.Response:
    """POST to ``url`` (on ``site``) without following redirects; ``kwargs`` as for
    ``requests.Session.post`` (``json``, ``data``, ``headers``).

    Raises:
        LmsTimeoutError: no connection, or no answer, within the timeouts.
        LmsConnectionError: refused, reset or unresolvable; ``reached_site`` says whether the
            request may have been processed, ``retryable`` whether trying again can help.
    """
    with _translated(site, timeouts, where):
        return session.post(url, timeout=(timeouts.connect, timeouts.read), verify=verify,
                            allow_redirects=False, **kwargs)


def post_form(session: requests.Session, url: str, fields: list[tuple[str, str]], *,
              site: str, timeouts: Timeouts, verify: bool | str,
              where: dict[str, Any]) -> requests.Response:
    """POST ``fields`` as a urlencoded form to ``url``: what ``post(..., data=fields)`` sends
    (same body, headers, proxies, TLS verification, timeouts, no redirects followed, same
    errors), handed straight to the session's adapter.

    ``Session.request`` re-merges the session's settings, cookies, hooks and environment on
    every call and checks its arguments against typing protocols: about half of the client's
    CPU per Moodle call, for nothing a session from :func:`session_for` carries. A session with
    cookies, auth or hooks takes the full path.

    Raises:
        LmsTimeoutError, LmsConnectionError: as :func:`post`.
    """
    if session.cookies or session.auth or any(session.hooks.values()):
        return post(session, url, site=site, timeouts=timeouts, verify=verify, where=where,
                    data=fields)
    request = requests.PreparedRequest()
    request.method = "POST"
    request.url = _prepared_url(url)
    body = form_encode(fields)  # ASCII; a str body, as requests makes it
    request.prepare_headers({**session.headers, "Content-Type": _FORM,
                             "Content-Length": str(len(body))})
    request.body = body
    request.hooks = {"response": []}
    with _translated(site, timeouts, where):
        response = session.get_adapter(url).send(
            request, stream=False, timeout=(timeouts.connect, timeouts.read), verify=verify,
            cert=session.cert, proxies=session.proxies)
        response.content  # noqa: B018 - read the body here, where read errors are translated
    if response.cookies:  # kept for the next call, which then takes the full path
        session.cookies.update(response.cookies)
    return response


# Bytes quote_plus leaves alone; every other byte is escaped, space as "+".
_UNRESERVED = (string.ascii_letters + string.digits + "_.-~").encode()
_ESCAPES = {byte: b"+" if byte == 0x20 else b"%%%02X" % byte for byte in range(256)}
# Between names and values, and between fields, while the whole body is escaped at once.
_NAME_END, _FIELD_END = "\x00", "\x01"


def form_encode(fields: list[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(fields)``, character for character, in a fifth of the CPU:
    a batch of 100 HTML messages is some 50,000 characters, which ``urlencode`` quotes with
    a Python call per byte (and ``str.translate`` with a table, per character).

    The fields are joined with two control characters as separators and the whole body is
    escaped with one C-level ``bytes.replace`` per distinct unsafe byte it holds ("%" first,
    so no escape is escaped again, then "+", before spaces become "+"); the separators then
    become "=" and "&". Fields that hold a separator themselves take ``urlencode``.

    Raises:
        UnicodeEncodeError: a lone surrogate, as ``urlencode`` raises.
    """
    body = _FIELD_END.join(map(_NAME_END.join, fields))
    if body.count(_NAME_END) != len(fields) or body.count(_FIELD_END) != max(len(fields) - 1, 0):
        return urllib.parse.urlencode(fields)
    raw = body.encode()
    unsafe = set(raw.translate(None, _UNRESERVED)) - {0x00, 0x01}
    for byte in (0x25, 0x2B):  # "%", then "+"
        if byte in unsafe:
            raw = raw.replace(bytes((byte,)), _ESCAPES[byte])
            unsafe.discard(byte)
    for byte in unsafe:
        raw = raw.replace(bytes((byte,)), _ESCAPES[byte])
    return raw.replace(b"\x00", b"=").replace(b"\x01", b"&").decode("ascii")


@functools.lru_cache(maxsize=64)
def _prepared_url(url: str) -> str:
    """``url`` checked and quoted as requests prepares it (once per URL, not per call)."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    assert request.url is not None
    return request.url


@contextlib.contextmanager
def _translated(site: str, timeouts: Timeouts, where: dict[str, Any]) -> Iterator[None]:
    """Turn requests' failures inside the block into the package's errors."""
    try:
        yield
    except requests.ConnectTimeout as exc:
        raise e.LmsTimeoutError(f"no connection to {site} within {timeouts.connect}s",
                                reached_site=False, **where) from exc
    except requests.ReadTimeout as exc:
        raise e.LmsTimeoutError(f"{site} did not answer within {timeouts.read}s",
                                **where) from exc
    except requests.ConnectionError as exc:
        if _is_name_failure(exc):
            error = e.LmsConnectionError(
                f"the host name of {site} does not resolve; check lms.url",
                reached_site=False, **where)
            error.retryable = False
            raise error from exc
        refused = _is_connect_failure(exc)
        what = "could not connect to" if refused else "connection lost to"
        raise e.LmsConnectionError(f"{what} {site} ({_reason(exc)})",
                                   reached_site=not refused, **where) from exc
    except requests.RequestException as exc:
        raise e.LmsConnectionError(f"request to {site} failed ({_reason(exc)})",
                                   **where) from exc


def retry_after(response: requests.Response) -> float | None:
    """Seconds the site asks us to wait (``Retry-After`` in seconds or as an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    """True when no connection was made at all (refused, DNS), so nothing was processed."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, NewConnectionError)


def _is_name_failure(exc: requests.ConnectionError) -> bool:
    inner = exc.args[0] if exc.args else None
    return isinstance(getattr(inner, "reason", inner), NameResolutionError)


def _reason(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", inner)
    text = re.sub(r"^<[^>]*>:\s*", "", str(reason))  # urllib3 prefixes its connection's repr
    return text[:160] or type(exc).__name__
