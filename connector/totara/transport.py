"""The wire to Totara's external GraphQL API: one POST per operation, timeouts, retries, errors.

The only module of the Totara client that imports ``requests``. Every operation is a POST of
``{"query", "variables", "operationName"}`` as JSON to ``{site}/api/graphql.php`` with
``Authorization: Bearer <token>``; the token is set per request (never on the session, never in
a URL, never logged). Totara answers business and schema errors with HTTP 200 and ``errors[]``;
they become the typed exceptions of :mod:`connector.errors` here, so no caller parses them.
HTTP 429 and the other transient faults go through the project's one retry policy
(:class:`connector.retry.RetryPolicy`). The OAuth2 token itself comes from a
:class:`TokenProvider` (see :mod:`connector.totara.auth`), which asks this transport to post
the token form so that the wire stays here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests
from pydantic import SecretStr

from connector import errors as e
from connector import http
from connector.http import Timeouts
from connector.pacing import CallStats, RateLimiter
from connector.retry import RetryPolicy

log = logging.getLogger(__name__)

GRAPHQL_PATH = "/api/graphql.php"
TOKEN_PATH = "/totara/oauth2/token.php"  # noqa: S105 - a path, not a secret
#: What Totara answers for a missing, expired or revoked bearer token (contract).
TOKEN_REJECTED = "Missing, expired or invalid access token"  # noqa: S105
_UNKNOWN_FIELD = "Cannot query field"


class TokenProvider(Protocol):
    """Where the bearer token comes from (OAuth2 client credentials, cached)."""

    def token(self, transport: TotaraTransport) -> SecretStr:
        """A token that is valid for a while yet."""
        ...

    def invalidate(self) -> None:
        """Forget the token: the site refused it."""
        ...


class TotaraTransport:
    """Sends GraphQL operations to one Totara site and returns their ``data``.

    Thread-safe: the HTTP connection pool is sized for ``pool_size`` concurrent calls.
    """

    def __init__(
        self,
        url: str,
        auth: TokenProvider,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        verify: bool | str = True,
        rate_limiter: RateLimiter | None = None,
        stats: CallStats | None = None,
        pool_size: int = 4,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.stats = stats or CallStats()
        self.auth = auth
        self._verify = verify
        self._rate_limiter = rate_limiter
        self._sleep = sleep
        self._session = http.session_for(self.url, pool_size=pool_size, session=session)

    def __repr__(self) -> str:
        return f"TotaraTransport(url={self.url!r})"

    def execute(
        self,
        operation: str,
        query: str,
        variables: Mapping[str, object] | None = None,
        *,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """Run one GraphQL operation and return its ``data`` object.

        ``idempotent`` says whether sending it twice is harmless (queries, updates to fixed
        values); when False it is retried only if the request provably did not reach the site.
        A refused token is renewed once and the operation sent again.

        Raises:
            LmsConnectionError: unreachable, timed out, 5xx or 429 after all retries.
            TotaraApiDisabledError: HTTP 400 (the external API is off).
            AccessTokenRejectedError: the site refused a freshly fetched token too.
            UnknownOperationError: this site's schema has no such operation.
            GraphQLError: any other ``errors[]`` answer.
            OAuthTokenError: no token could be had.
        """
        body = {"operationName": operation, "query": query, "variables": dict(variables or {})}
        try:
            return self._with_retries(operation, body, idempotent)
        except e.AccessTokenRejectedError:
            log.info("%s: the site refused the access token; fetching a new one", operation)
            self.auth.invalidate()
            return self._with_retries(operation, body, idempotent)

    def _with_retries(self, operation: str, body: dict[str, Any],
                      idempotent: bool) -> dict[str, Any]:
        return http.call_counted(
            operation, lambda: self._send(operation, body), retry=self.retry,
            stats=self.stats, rate_limiter=self._rate_limiter, sleep=self._sleep,
            idempotent=idempotent, logger=log)

    def _send(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        bearer = self.auth.token(self).get_secret_value()
        self.stats.request_sent(operation)
        response = self._post(GRAPHQL_PATH, operation, json=body,
                              headers={"Authorization": f"Bearer {bearer}"})
        if response.status_code == 400:
            raise e.TotaraApiDisabledError(
                f"HTTP 400 from {self.url}{GRAPHQL_PATH}: the external GraphQL API is off on "
                "the site; an admin turns it on in Quick-access menu > Development > API > "
                "Settings ('Enable external API'), Totara 17 or later", wsfunction=operation,
                status=400)
        _raise_for_status(response, self.url, operation)
        payload = _json(response, self.url, operation)
        errors = payload.get("errors")
        if errors:
            raise graphql_error(errors, operation=operation)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise e.LmsResponseError("the answer has neither data nor errors: is lms.url the "
                                     "root of a Totara 17+ site?", wsfunction=operation,
                                     status=response.status_code)
        return data

    def request_token(self, form: list[tuple[str, str]]) -> dict[str, Any]:
        """POST the OAuth2 token form and return the decoded JSON answer, errors included.

        The form holds the client secret: it goes only into the request body. Transient faults
        are retried (asking for a token twice is harmless).

        Raises:
            LmsConnectionError: the token endpoint cannot be reached.
            LmsResponseError: the answer is not JSON.
        """
        def attempt() -> dict[str, Any]:
            response = self._post(TOKEN_PATH, "oauth2/token", data=form)
            if response.status_code not in (400, 401):  # OAuth2 errors: 400/401 + ``error``
                _raise_for_status(response, self.url, "oauth2/token")
            return _json(response, self.url, "oauth2/token")

        result: dict[str, Any] = self.retry.run(attempt, idempotent=True, sleep=self._sleep)
        return result

    def _post(self, path: str, operation: str, *, json: object = None,
              data: list[tuple[str, str]] | None = None,
              headers: dict[str, str] | None = None) -> requests.Response:
        started = time.perf_counter()
        where: dict[str, Any] = {"wsfunction": operation}
        response = http.post(self._session, self.url + path, site=self.url,
                             timeouts=self.timeouts, verify=self._verify, where=where,
                             json=json, data=data, headers=headers)
        log.debug("%s -> HTTP %d in %.0f ms", operation, response.status_code,
                  (time.perf_counter() - started) * 1000)
        return response


def _raise_for_status(response: requests.Response, url: str, operation: str) -> None:
    status = response.status_code
    if status == 200:
        return
    kw: dict[str, Any] = {"wsfunction": operation, "status": status}
    if status == 429:
        raise e.LmsRateLimitError(
            f"{url} asks to slow down (HTTP 429: over the API's query-complexity budget per "
            "minute; see Quick-access menu > Development > API > Settings)",
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
    if status == 404:
        raise e.LmsResponseError(f"HTTP 404: there is no Totara API at {url}{GRAPHQL_PATH}; "
                                 "lms.url must be the root of a Totara 17+ site", **kw)
    raise e.LmsResponseError(f"unexpected HTTP {status} from {url}", **kw)


def _json(response: requests.Response, url: str, operation: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError as exc:
        kind = response.headers.get("Content-Type", "no content type")
        raise e.LmsResponseError(
            f"the answer is not JSON ({kind}, {len(response.content)} bytes): is {url} the "
            "root of a Totara 17+ site?", wsfunction=operation,
            status=response.status_code) from exc
    if not isinstance(value, dict):
        raise e.LmsResponseError("the answer is not a JSON object", wsfunction=operation,
                                 status=response.status_code)
    return value


def graphql_error(errors: object, *, operation: str) -> e.GraphQLError:
    """Map Totara's ``errors[]`` to the typed exception of its first entry.

    ``debugMessage`` is read at the top level (Totara 17, 18) and in ``extensions`` (19+).
    """
    entries = [x for x in errors if isinstance(x, dict)] if isinstance(errors, list) else []
    first: dict[str, Any] = entries[0] if entries else {}
    raw_extensions = first.get("extensions")
    extensions: dict[str, Any] = raw_extensions if isinstance(raw_extensions, dict) else {}
    message = str(first.get("message") or "Totara reported an error")
    more = f" (and {len(entries) - 1} more errors)" if len(entries) > 1 else ""
    debug = first.get("debugMessage") or extensions.get("debugMessage")
    kw: dict[str, Any] = {"category": _text(extensions.get("category")),
                          "debug_message": _text(debug), "wsfunction": operation}
    if TOKEN_REJECTED.lower() in message.lower():
        return e.AccessTokenRejectedError(
            f"{message}: the API client's token was refused; check that the client is enabled "
            "and its service account is not suspended (Quick-access menu > Development > API > "
            "Clients)", **kw)
    if message.startswith(_UNKNOWN_FIELD) and ('type "Query"' in message
                                               or 'type "Mutation"' in message):
        return e.UnknownOperationError(
            f"this Totara site has no operation {operation} ({message}); it arrives in a later "
            "release, or its feature is off: run `sidecar check` to see what the site offers",
            **kw)
    if message.startswith('Unknown type "'):
        return e.GraphQLError(
            f"{message}: lms-sidecar assumed Totara's input type names for {operation} "
            "(docs/totara.md, 'Assumptions'); this release names it differently", **kw)
    return e.GraphQLError(message + more, **kw)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def token_form(client_id: str, client_secret: SecretStr) -> list[tuple[str, str]]:
    """The form of a client-credentials grant (its secret only ever goes in this body)."""
    return [("grant_type", "client_credentials"), ("client_id", client_id),
            ("client_secret", client_secret.get_secret_value())]
