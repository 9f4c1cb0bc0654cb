"""Every way talking to an LMS can fail, as one tree of exceptions.

Callers catch by meaning, never by parsing bodies::

    LmsError
    ├── LmsConnectionError        the request may not have reached the site (.retryable)
    │   ├── LmsTimeoutError
    │   ├── LmsServerError        HTTP 5xx (.status)
    │   └── LmsRateLimitError     HTTP 429 (.retry_after)
    ├── LmsRequestTooLargeError   refused before sending: would exceed PHP's max_input_vars
    └── LmsResponseError          the site answered, but not with what was asked for
        ├── (plain)               not a web-service answer: HTML, wrong URL, protocol off
        └── MoodleError           Moodle's own error body (HTTP 200 + exception/errorcode)
            ├── InvalidTokenError          + LmsAuthError
            ├── LoginFailedError           + LmsAuthError   (/login/token.php)
            ├── FunctionNotInServiceError  + LmsAuthError   (accessexception)
            ├── PermissionDeniedError      + LmsAuthError   (nopermissions, ...)
            ├── UnknownFunctionError       (the site has no such function)
            ├── RecordNotFoundError        + LmsNotFoundError
            ├── InvalidParameterError      (debuginfo says why, when debugging is on)
            ├── DuplicateIdnumberError
            └── InvalidValueError          (other invalidpersistenterror)
        ├── TotaraApiDisabledError HTTP 400 from /api/graphql.php: the external API is off
        ├── GraphQLError           Totara's ``errors[]`` (HTTP 200): message, category, debug
        │   ├── AccessTokenRejectedError   + LmsAuthError   ("Missing, expired or invalid ...")
        │   ├── UnknownOperationError      (this release has no such query or mutation)
        │   └── MutationFailedError        ({success: false, errors{code, message}} in data)
        └── OAuthTokenError        + LmsAuthError   /totara/oauth2/token.php answered ``error``

Exceptions carry the wsfunction, the HTTP status and the names and values of the
parameters that were sent, but never the token or a password: they end up in logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Form fields whose values are never shown anywhere.
SECRET_FIELDS = frozenset({"wstoken", "password", "token", "privatetoken", "client_secret",
                           "access_token"})
_SHOWN_PARAMS = 12
_SHOWN_VALUE = 60


def describe_params(params: Sequence[tuple[str, str]]) -> str:
    """Render sent form fields for an error message: secrets masked, long lists cut short."""
    shown = []
    for key, value in params[:_SHOWN_PARAMS]:
        if key in SECRET_FIELDS:
            continue
        text = value if len(value) <= _SHOWN_VALUE else value[: _SHOWN_VALUE - 1] + "…"
        shown.append(f"{key}={text!r}")
    if len(params) > _SHOWN_PARAMS:
        shown.append(f"… {len(params) - _SHOWN_PARAMS} more")
    return ", ".join(shown)


class LmsError(Exception):
    """Root of every error raised while talking to an LMS."""

    #: Whether repeating the same request later may succeed.
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        wsfunction: str | None = None,
        status: int | None = None,
        params: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.wsfunction = wsfunction
        self.status = status
        self.params: tuple[tuple[str, str], ...] = tuple(
            (k, "***") if k in SECRET_FIELDS else (k, v) for k, v in params
        )

    def __str__(self) -> str:
        where = f"{self.wsfunction}: " if self.wsfunction else ""
        sent = describe_params(self.params)
        return f"{where}{self.message}" + (f" (sent {sent})" if sent else "")


class LmsAuthError(LmsError):
    """The site refused who we are or what we may do: fix the token, service or role."""


class LmsNotFoundError(LmsError):
    """The object asked for does not exist on the site."""


class LmsConnectionError(LmsError):
    """The site could not be reached or did not answer in time.

    ``retryable`` is True for faults where a later attempt may succeed. ``reached_site``
    is False only when the request provably was not processed (connection refused,
    429, 503), which is what makes retrying a non-idempotent write safe.
    """

    retryable = True

    def __init__(self, message: str, *, reached_site: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reached_site = reached_site


class LmsTimeoutError(LmsConnectionError):
    """No answer within the configured timeout."""


class LmsServerError(LmsConnectionError):
    """HTTP 5xx from the site or a proxy in front of it; 502, 503 and 504 are retried."""


class LmsRateLimitError(LmsConnectionError):
    """HTTP 429: the site or a proxy asks us to slow down (``retry_after`` seconds)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, reached_site=False, **kwargs)
        self.retry_after = retry_after


class LmsRequestTooLargeError(LmsError):
    """A request would carry more form variables than the site's PHP accepts.

    PHP silently drops the variables beyond ``max_input_vars``: sending it would
    lose data without an error, so it is refused before it leaves.
    """


class LmsResponseError(LmsError):
    """The site answered, but the answer is an error or not what the protocol promises."""

    retryable = False


class MoodleError(LmsResponseError):
    """An error body from Moodle (HTTP 200 with ``exception``/``errorcode``).

    ``errorcode`` and ``exception`` are Moodle's own; ``debuginfo`` is present only when
    the site has developer debugging on, and often holds the real reason.
    """

    def __init__(
        self,
        message: str,
        *,
        errorcode: str | None = None,
        exception: str | None = None,
        debuginfo: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errorcode = errorcode
        self.exception = exception
        self.debuginfo = debuginfo

    def __str__(self) -> str:
        text = super().__str__()
        code = f" [{self.errorcode}]" if self.errorcode else ""
        debug = f"; Moodle says: {' '.join(self.debuginfo.split())}" if self.debuginfo else ""
        return f"{text}{code}{debug}"


class InvalidTokenError(MoodleError, LmsAuthError):
    """The token is unknown, expired or was cut off (``invalidtoken``)."""


class LoginFailedError(MoodleError, LmsAuthError):
    """/login/token.php refused the username, password or service."""


class FunctionNotInServiceError(MoodleError, LmsAuthError):
    """The function exists but the token's external service does not include it.

    Moodle answers ``accessexception`` ("Access control exception"); the fix is to add
    the function to the external service, or to check the service's user, IP and
    time restrictions.
    """


class PermissionDeniedError(MoodleError, LmsAuthError):
    """The token's user lacks a capability (``nopermissions``, ``requireloginerror``...)."""


class UnknownFunctionError(MoodleError):
    """The site has no web-service function of that name (older Moodle, missing plugin)."""


class RecordNotFoundError(MoodleError, LmsNotFoundError):
    """A record the call refers to does not exist (``invalidrecord``); ``table`` names it."""

    def __init__(self, message: str, *, table: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.table = table


class InvalidParameterError(MoodleError):
    """Moodle rejected the parameters (``invalidparameter``); see ``debuginfo``."""


class DuplicateIdnumberError(MoodleError):
    """An idnumber is already used in that framework (``invalidpersistenterror``)."""


class InvalidValueError(MoodleError):
    """Moodle refused a value on save (``invalidpersistenterror``: scale, rating...)."""


class TotaraApiDisabledError(LmsResponseError):
    """Totara's GraphQL endpoint answered HTTP 400: the external API feature is off, or the
    request was not a POST (Totara answers both the same way)."""


class GraphQLError(LmsResponseError):
    """An ``errors[]`` entry from Totara's GraphQL API (HTTP 200).

    ``wsfunction`` holds the operation name; ``category`` is ``extensions.category`` and
    ``debug_message`` is ``debugMessage`` (top level before Totara 19, in ``extensions`` from 19
    on), present only when the site shows debugging.
    """

    def __init__(self, message: str, *, category: str | None = None,
                 debug_message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.category = category
        self.debug_message = debug_message

    @property
    def errorcode(self) -> str | None:
        """The category, under the name the call statistics read for every LMS error."""
        return self.category

    def __str__(self) -> str:
        text = super().__str__()
        category = f" [{self.category}]" if self.category else ""
        debug = (f"; Totara says: {' '.join(self.debug_message.split())}"
                 if self.debug_message else "")
        return f"{text}{category}{debug}"


class AccessTokenRejectedError(GraphQLError, LmsAuthError):
    """Totara refused the bearer token ("Missing, expired or invalid access token")."""


class UnknownOperationError(GraphQLError):
    """The site's schema has no such query or mutation: an older Totara release, or a feature
    (perform goals, goal tasks) that is not installed."""


class MutationFailedError(GraphQLError):
    """A mutation answered ``{success: false, errors: [{code, message}]}`` inside ``data``;
    ``codes`` lists Totara's codes."""

    def __init__(self, message: str, *, codes: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.codes = tuple(codes)


class OAuthTokenError(LmsAuthError):
    """/totara/oauth2/token.php refused the client (its ``error`` key is ``error``)."""

    def __init__(self, message: str, *, error: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error = error

    @property
    def errorcode(self) -> str | None:
        return self.error


class InvalidClientError(OAuthTokenError):
    """The client id or secret is wrong, or the API client is disabled (``invalid_client``)."""
