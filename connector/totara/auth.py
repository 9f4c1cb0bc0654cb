"""OAuth2 client credentials for Totara's external API: fetch, cache, renew before expiry.

Totara issues no refresh token: a client asks ``/totara/oauth2/token.php`` again. The token is
kept until ``renew_before`` seconds before it expires (a tenth of its lifetime, at least 30 s
and at most 10 minutes), and dropped at once when the API refuses it, so the next call asks
for a fresh one (the transport retries that call once). The client secret and the token are
never shown: not in ``repr``, not in exceptions, not in logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import SecretStr

from connector import errors as e
from connector.totara.transport import TotaraTransport, token_form

log = logging.getLogger(__name__)

#: The fix for each OAuth2 ``error`` code (RFC 6749 section 5.2) as Totara's admin UI names it.
_FIXES = {
    "invalid_client": "the site does not know this client id and secret: copy both from "
                      "Quick-access menu > Development > API > Clients (the client must be "
                      "enabled) into lms.client_id and SIDECAR_LMS__CLIENT_SECRET",
    "unauthorized_client": "this API client may not use the client-credentials grant: check it "
                           "in Quick-access menu > Development > API > Clients",
    "invalid_grant": "the site refused the grant: the client's service account may be "
                     "suspended or deleted",
    "unsupported_grant_type": "the site does not offer client credentials at "
                              "/totara/oauth2/token.php: Totara 17 or later is needed",
    "invalid_request": "the token request was malformed (missing client id or secret)",
    "access_denied": "the site refused the client: check the service account's role",
}


class ClientCredentials:
    """A bearer token from the client-credentials grant, cached and renewed before expiry."""

    def __init__(self, client_id: str, client_secret: SecretStr, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._clock = clock
        self._token: SecretStr | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()
        #: Tokens fetched so far (for tests and ``sidecar check``).
        self.fetched = 0
        #: Lifetime in seconds of the last token, as the site stated it.
        self.lifetime: int | None = None

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=***)"

    def token(self, transport: TotaraTransport) -> SecretStr:
        """A token valid for a while yet, fetched when there is none or it is about to expire.

        Raises:
            OAuthTokenError: the token endpoint refused the client (the message says the fix).
            LmsConnectionError, LmsResponseError: the endpoint could not be asked.
        """
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._fetch(transport)
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self, transport: TotaraTransport) -> None:
        answer = transport.request_token(token_form(self.client_id, self._secret))
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise oauth_error(answer)
        token_type = str(answer.get("token_type", "Bearer"))
        if token_type.lower() != "bearer":
            raise e.OAuthTokenError(f"the site issued a {token_type!r} token, not a bearer "
                                    "token", wsfunction="oauth2/token")
        lifetime = _lifetime(answer.get("expires_in"))
        margin = min(max(lifetime / 10, 30.0), 600.0)
        self._token = SecretStr(token)
        self._renew_at = self._clock() + max(lifetime - margin, 0.0)
        self.lifetime = lifetime
        self.fetched += 1
        log.info("fetched an access token for API client %s (valid %d s)", self.client_id,
                 lifetime)


def _lifetime(value: object) -> int:
    """``expires_in`` in seconds; Totara's default of 24 hours when missing or unreadable."""
    try:
        seconds = int(str(value))
    except ValueError:
        return 86400
    return seconds if seconds > 0 else 86400


def oauth_error(answer: Mapping[str, Any]) -> e.OAuthTokenError:
    """Map a token endpoint's error answer (``{"error": ..., "error_description": ...}``)."""
    code = str(answer.get("error") or "") or None
    described = answer.get("error_description") or answer.get("message")
    fix = _FIXES.get(code or "", "the token endpoint answered without an access token")
    text = f"{fix} (Totara says: {described})" if described else fix
    cls = e.InvalidClientError if code == "invalid_client" else e.OAuthTokenError
    return cls(text, error=code, wsfunction="oauth2/token")
