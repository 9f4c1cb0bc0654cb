"""Checking that a delivery comes from a configured sender: one function per kind of proof.

Every comparison is constant-time (``hmac.compare_digest``), every configured secret is tried
(rotation), and no message here ever contains a secret, a signature or a token.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from webhooks.errors import SignatureError

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
TOTARA_HEADER = "X-Totara-Signature"
#: What :func:`verify_standard` reads of a delivery's headers.
STANDARD_HEADERS = (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)


def check_timestamp(sent: datetime, now: datetime, tolerance: int, what: str) -> None:
    """Refuse a signed time more than ``tolerance`` seconds from ``now`` (a replay or a clock
    fault).

    Raises:
        SignatureError: the time is too old or too far in the future.
    """
    drift = (now - sent).total_seconds()
    if drift > tolerance:
        raise SignatureError(f"{what} is {int(drift)} s old; at most {tolerance} s is accepted "
                             "(a replay, or the sender's clock is wrong)")
    if -drift > tolerance:
        raise SignatureError(f"{what} is {int(-drift)} s in the future; at most {tolerance} s "
                             "is accepted (the sender's clock is wrong)")


def verify_standard(body: bytes, headers: Mapping[str, str], secrets: Sequence[SecretStr],
                    *, now: datetime, tolerance: int) -> str:
    """Check a Standard Webhooks delivery and return its message id (``webhook-id``).

    The signature header may hold several space-separated ``v1,<base64>`` signatures; one that
    matches any configured secret is enough.

    Raises:
        SignatureError: a header is missing, the timestamp is stale, or no signature matches.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    missing = [name for name in STANDARD_HEADERS if not lowered.get(name)]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    msg_id, stamp = lowered[HEADER_ID], lowered[HEADER_TIMESTAMP]
    if not stamp.isdigit():
        raise SignatureError(f"{HEADER_TIMESTAMP} must be whole seconds since 1970")
    sent = datetime.fromtimestamp(int(stamp), UTC)
    check_timestamp(sent, now, tolerance, HEADER_TIMESTAMP)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignatureError("the body is not UTF-8, so it cannot carry a valid signature") from exc
    given = [part.split(",", 1)[1].encode() for part in lowered[HEADER_SIGNATURE].split()
             if part.startswith("v1,")]
    if not given:
        raise SignatureError(f"{HEADER_SIGNATURE} holds no v1 signature")
    for secret in secrets:
        expected = _signer(secret.get_secret_value()).sign(msg_id, sent, text)
        digest = expected.split(",", 1)[1].encode()
        if any(hmac.compare_digest(digest, candidate) for candidate in given):
            return msg_id
    raise SignatureError("no signature matches a configured secret")


@functools.lru_cache(maxsize=32)
def _signer(secret: str) -> Webhook:
    """The signer of one configured secret, its key decoded once per process, not per request
    (the configured secrets are held in memory by the settings anyway)."""
    return Webhook(secret)


def verify_totara(body: bytes, signature: str | None, secrets: Sequence[SecretStr]) -> None:
    """Check ``X-Totara-Signature``: the hex HMAC-SHA256 of the raw body with the secret.

    Raises:
        SignatureError: the header is missing or matches no configured secret.
    """
    if not signature:
        raise SignatureError(f"missing header {TOTARA_HEADER}")
    given = signature.strip().lower().encode()
    for secret in secrets:
        expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), given):
            return
    raise SignatureError(f"{TOTARA_HEADER} matches no configured secret")


def verify_shared_secret(given: str | None, secrets: Sequence[SecretStr], where: str) -> None:
    """Check a plain shared secret (local_webhooks' body token, tool_trigger's header).

    Raises:
        SignatureError: it is missing or equals no configured secret.
    """
    if not given:
        raise SignatureError(f"missing {where}")
    candidate = given.encode()
    matched = False
    for secret in secrets:  # no early exit: the time taken does not tell which one matched
        matched |= hmac.compare_digest(secret.get_secret_value().encode(), candidate)
    if not matched:
        raise SignatureError(f"{where} matches no configured secret")
