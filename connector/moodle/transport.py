"""The wire to a Moodle site: one POST per call, timeouts, retries, and error translation.

This is the only module of the Moodle client that imports ``requests``. Every call is a
POST of a form body to ``/webservice/rest/server.php`` with ``wstoken``, ``wsfunction``
and ``moodlewsrestformat``: the token is never put in a URL (URLs end up in proxy and
server logs). Moodle reports its errors with HTTP 200 and an ``exception`` body; those are
turned into the typed exceptions of :mod:`connector.errors` here, so that no caller ever
parses an error body.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import requests
from pydantic import SecretStr

from connector import errors as e
from connector import http
from connector.http import Timeouts
from connector.moodle.encoding import PROTOCOL_FIELDS, flatten
from connector.moodle.xml import parse_xml
from connector.pacing import CallStats, RateLimiter
from connector.retry import RetryPolicy

log = logging.getLogger(__name__)

REST_PATH = "/webservice/rest/server.php"
LOGIN_PATH = "/login/token.php"

Format = Literal["json", "xml"]


class TokenSource(Protocol):
    """Where the token comes from: fixed, or fetched from /login/token.php."""

    def get(self, transport: MoodleTransport) -> SecretStr:
        """The token to send."""
        ...

    def forget(self) -> bool:
        """Drop a refused token; True when a fresh one can be fetched."""
        ...


class StaticToken:
    """A token made by an admin in Moodle (Site administration > Server > Manage tokens)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def get(self, transport: MoodleTransport) -> SecretStr:
        return self._token

    def forget(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(***)"


class LoginToken:
    """A token fetched once from /login/token.php with a username and password, and again
    when the site refuses it (expired or revoked)."""

    def __init__(self, username: str, password: SecretStr, service: str) -> None:
        self.username = username
        self.service = service
        self._password = password
        self._token: SecretStr | None = None
        self._lock = threading.Lock()

    def get(self, transport: MoodleTransport) -> SecretStr:
        with self._lock:
            if self._token is None:
                self._token = transport.login(self.username, self._password, self.service)
            return self._token

    def forget(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def __repr__(self) -> str:
        return f"LoginToken(username={self.username!r}, service={self.service!r})"


class MoodleTransport:
    """Sends web-service calls to one Moodle site and returns decoded answers.

    Thread-safe: the HTTP connection pool is sized for ``pool_size`` concurrent calls.
    """

    def __init__(
        self,
        url: str,
        token: TokenSource,
        *,
        format: Format = "json",
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_input_vars: int = 1000,
        verify: bool | str = True,
        rate_limiter: RateLimiter | None = None,
        stats: CallStats | None = None,
        pool_size: int = 4,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.format: Format = format
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.max_input_vars = max_input_vars
        self.stats = stats or CallStats()
        self._token = token
        self._verify = verify
        self._rate_limiter = rate_limiter
        self._sleep = sleep
        self._session = http.session_for(self.url, pool_size=pool_size, session=session)

    def __repr__(self) -> str:
        return f"MoodleTransport(url={self.url!r}, format={self.format!r})"

    def call(
        self,
        wsfunction: str,
        params: Mapping[str, object] | None = None,
        *,
        idempotent: bool = True,
    ) -> object:
        """Call one web-service function and return Moodle's answer as Python values.

        ``idempotent`` says whether sending the same call twice is harmless; when False,
        the call is retried only if the request provably did not reach the site.

        Raises:
            LmsRequestTooLargeError: more form variables than ``max_input_vars``.
            LmsConnectionError: unreachable, timed out, 5xx or 429 after all retries.
            MoodleError: Moodle's own error (a subclass by ``errorcode``).
            LmsResponseError: an answer that is not a web-service answer.
        """
        fields = flatten(params or {})
        if PROTOCOL_FIELDS + len(fields) > self.max_input_vars:
            raise e.LmsRequestTooLargeError(
                f"{PROTOCOL_FIELDS + len(fields)} form variables exceed the site's "
                f"max_input_vars={self.max_input_vars}; PHP would drop the rest silently",
                wsfunction=wsfunction,
            )
        try:
            value = self._call_with_retries(wsfunction, fields, idempotent)
        except e.InvalidTokenError:
            if not self._token.forget():
                raise
            value = self._call_with_retries(wsfunction, fields, idempotent)
        return value

    def _call_with_retries(
        self, wsfunction: str, fields: list[tuple[str, str]], idempotent: bool
    ) -> object:
        return http.call_counted(
            wsfunction, lambda: self._send(wsfunction, fields), retry=self.retry,
            stats=self.stats, rate_limiter=self._rate_limiter, sleep=self._sleep,
            idempotent=idempotent, logger=log)

    def _send(self, wsfunction: str, fields: list[tuple[str, str]]) -> object:
        token = self._token.get(self).get_secret_value()
        body = [("wstoken", token), ("wsfunction", wsfunction),
                ("moodlewsrestformat", self.format), *fields]
        self.stats.request_sent(wsfunction)
        response = self._post(REST_PATH, body, wsfunction=wsfunction, params=fields)
        value = self._decode(response, wsfunction=wsfunction, params=fields)
        if isinstance(value, dict) and "exception" in value:
            raise moodle_error(value, wsfunction=wsfunction, params=fields)
        return value

    def login(self, username: str, password: SecretStr, service: str) -> SecretStr:
        """Get a token for ``service`` from /login/token.php.

        Raises:
            LoginFailedError: wrong password, unknown service, or no right to make tokens.
        """
        fields = [("username", username), ("password", password.get_secret_value()),
                  ("service", service)]

        def attempt() -> object:
            response = self._post(LOGIN_PATH, fields, wsfunction="login/token.php", params=[])
            return self._decode(response, wsfunction="login/token.php", params=[], fmt="json")

        value = self.retry.run(attempt, idempotent=True, sleep=self._sleep)
        if isinstance(value, dict) and value.get("token"):
            return SecretStr(str(value["token"]))
        raise login_error(value if isinstance(value, dict) else {}, service)

    def _post(
        self, path: str, body: list[tuple[str, str]], *, wsfunction: str,
        params: list[tuple[str, str]],
    ) -> requests.Response:
        where: dict[str, Any] = {"wsfunction": wsfunction, "params": params}
        started = time.perf_counter()
        response = http.post_form(self._session, self.url + path, body, site=self.url,
                                  timeouts=self.timeouts, verify=self._verify, where=where)
        log.debug("%s -> HTTP %d in %.0f ms", wsfunction, response.status_code,
                  (time.perf_counter() - started) * 1000)
        _raise_for_status(response, self.url, where)
        return response

    def _decode(
        self, response: requests.Response, *, wsfunction: str, params: list[tuple[str, str]],
        fmt: Format | None = None,
    ) -> object:
        if (fmt or self.format) == "xml":
            try:
                return parse_xml(response.content)
            except e.LmsResponseError as exc:
                exc.wsfunction = wsfunction
                raise
        try:
            return response.json()
        except ValueError as exc:
            kind = response.headers.get("Content-Type", "no content type")
            raise e.LmsResponseError(
                f"the answer is not JSON ({kind}, {len(response.content)} bytes): is "
                f"{self.url} the root of a Moodle site with the REST protocol enabled?",
                wsfunction=wsfunction, status=response.status_code, params=params,
            ) from exc


def _raise_for_status(response: requests.Response, url: str, where: dict[str, Any]) -> None:
    status = response.status_code
    if status == 200:
        return
    kw: dict[str, Any] = {**where, "status": status}
    if status == 429:
        raise e.LmsRateLimitError(f"{url} asks to slow down (HTTP 429)",
                                  retry_after=http.retry_after(response), **kw)
    if status in (502, 503, 504):
        raise e.LmsServerError(f"{url} is unavailable (HTTP {status})",
                               reached_site=status != 503, **kw)
    if status >= 500:
        error = e.LmsServerError(f"{url} failed with HTTP {status}", **kw)
        error.retryable = False
        raise error
    if 300 <= status < 400:
        target = response.headers.get("Location", "?")
        raise e.LmsResponseError(f"{url} redirects to {target}: set lms.url to the address "
                                 "the site really answers on", **kw)
    if status == 403:
        raise e.LmsResponseError("HTTP 403: web services or the REST protocol are not enabled "
                                 "on the site (Site administration > Server > Web services > "
                                 "Overview, steps 1 and 2)", **kw)
    if status == 404:
        raise e.LmsResponseError(f"HTTP 404: there is no Moodle web-service endpoint at {url}; "
                                 "lms.url must be the site's root address", **kw)
    raise e.LmsResponseError(f"unexpected HTTP {status} from {url}", **kw)


_TABLE = re.compile(r"database table (\w+)")
_PERMISSION_CODES = frozenset({"nopermissions", "requireloginerror", "nocapability",
                               "accessdenied", "usernotfullysetup", "sitemaintenance"})


def moodle_error(
    body: Mapping[str, object], *, wsfunction: str, params: list[tuple[str, str]]
) -> e.MoodleError:
    """Map one Moodle error body to the matching typed exception."""
    code = _text(body.get("errorcode"))
    message = _text(body.get("message")) or "Moodle reported an error"
    kw: dict[str, Any] = {"errorcode": code, "exception": _text(body.get("exception")),
                             "debuginfo": _text(body.get("debuginfo")),
                             "wsfunction": wsfunction, "params": params}
    if code == "invalidtoken":
        return e.InvalidTokenError(f"the site refused the token ({message})", **kw)
    if code == "accessexception":
        if "token expired" in (kw["debuginfo"] or ""):
            return e.InvalidTokenError("the token expired (its 'valid until' date passed)", **kw)
        return e.FunctionNotInServiceError(
            f"{wsfunction} is not allowed for this token: add it to the token's external "
            "service; also check the service's authorised users, IP and time restrictions and "
            "the token's 'valid until' date", **kw)
    if code in _PERMISSION_CODES:
        return e.PermissionDeniedError(message, **kw)
    if code == "invalidrecord":
        match = _TABLE.search(message)
        table = match.group(1) if match else None
        if table == "external_functions":
            return e.UnknownFunctionError(
                f"the site has no web-service function {wsfunction} (older Moodle, or a "
                "plugin that is not installed)", **kw)
        return e.RecordNotFoundError(f"no such record in {table or 'the database'}",
                                     table=table, **kw)
    if code == "invalidparameter":
        return e.InvalidParameterError(message, **kw)
    if code == "invalidpersistenterror":
        if "already in use" in message:
            return e.DuplicateIdnumberError(message.removeprefix("Error: "), **kw)
        return e.InvalidValueError(message.removeprefix("Error: "), **kw)
    return e.MoodleError(message, **kw)


_LOGIN_HINTS = {
    "invalidlogin": "Moodle refused the username or password",
    "servicenotavailable": "the external service {service!r} does not exist or is disabled "
                           "(Site administration > Server > Web services > External services)",
    "cannotcreatetoken": "the user may not create a token for the service {service!r}: make "
                         "one in Site administration > Server > Web services > Manage tokens",
    "enablewsdescription": "web services are disabled on the site",
}


def login_error(body: Mapping[str, object], service: str) -> e.LoginFailedError:
    """Map an error body of /login/token.php (``error``, not ``exception``)."""
    code = _text(body.get("errorcode"))
    hint = _LOGIN_HINTS.get(code or "", _text(body.get("error")) or "no token in the answer")
    return e.LoginFailedError(hint.format(service=service), errorcode=code,
                              debuginfo=_text(body.get("debuginfo")), wsfunction="login/token.php")


def _text(value: object) -> str | None:
    return None if value is None else str(value)
