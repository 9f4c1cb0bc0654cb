"""Builds the Totara clients from the settings: the GraphQL client (OAuth2 client credentials)
and, when a web-service token is configured, the legacy web-service client, which speaks the
same protocol as Moodle and so is the Moodle client over the Moodle transport."""

from __future__ import annotations

import requests

from config import LmsSettings
from connector.http import Timeouts
from connector.moodle.client import MoodleClient
from connector.moodle.transport import MoodleTransport, StaticToken
from connector.pacing import CallStats, RateLimiter
from connector.retry import RetryPolicy
from connector.totara.auth import ClientCredentials
from connector.totara.client import TotaraClient
from connector.totara.transport import TotaraTransport
from sidecar.metrics import observe_call


def _retry(lms: LmsSettings) -> RetryPolicy:
    return RetryPolicy(attempts=lms.retries.attempts, backoff=lms.retries.backoff,
                       max_backoff=lms.retries.max_backoff)


def _verify(lms: LmsSettings) -> bool | str:
    return str(lms.ca_bundle) if lms.ca_bundle else lms.verify_tls


def build_totara_client(lms: LmsSettings, *,
                        session: requests.Session | None = None) -> TotaraClient:
    """The GraphQL client for a ``kind: totara`` site.

    Raises:
        ValueError: the settings carry no API client (not a Totara configuration).
    """
    secret = lms.resolved_client_secret
    if lms.kind != "totara" or not lms.client_id or secret is None:
        raise ValueError("lms.kind is not totara, or lms.client_id / the client secret is "
                         "missing")
    transport = TotaraTransport(
        lms.url, ClientCredentials(lms.client_id, secret),
        timeouts=Timeouts(connect=lms.timeout.connect, read=lms.timeout.read),
        retry=_retry(lms), verify=_verify(lms),
        rate_limiter=RateLimiter(lms.rate_limit) if lms.rate_limit else None,
        stats=CallStats(observer=observe_call), pool_size=lms.concurrency, session=session)
    return TotaraClient(transport, concurrency=lms.concurrency)


def build_legacy_client(lms: LmsSettings, *,
                        session: requests.Session | None = None) -> MoodleClient | None:
    """Totara's legacy web services (same protocol as Moodle); None without a token."""
    token = lms.resolved_token
    if token is None:
        return None
    transport = MoodleTransport(
        lms.url, StaticToken(token), format=lms.format,
        timeouts=Timeouts(connect=lms.timeout.connect, read=lms.timeout.read),
        retry=_retry(lms), max_input_vars=lms.max_input_vars, verify=_verify(lms),
        rate_limiter=RateLimiter(lms.rate_limit) if lms.rate_limit else None,
        stats=CallStats(observer=observe_call), pool_size=lms.concurrency, session=session)
    return MoodleClient(transport, concurrency=lms.concurrency)
