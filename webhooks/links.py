"""Signed, expiring learner links: the link is the credential, so it carries no secret.

The token holds the task id and the learner id, signed with ``followups.link_secret``
(itsdangerous, HMAC-SHA1 with a per-purpose salt) and stamped with the clock's time, so it
expires ``followups.link_max_age_days`` after the message was sent.
"""

from __future__ import annotations

import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes
from pydantic import SecretStr

from webhooks.clock import Clock

SALT = "lms-sidecar/followup-answer"


class LinkError(Exception):
    """A learner link that is not valid; ``expired`` tells an old link from a forged one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class LinkClaims:
    task_id: int
    learner_id: int


class LinkSigner:
    """Makes and checks learner link tokens, on the given clock."""

    def __init__(self, secret: SecretStr, clock: Clock, max_age: timedelta,
                 base_url: str) -> None:
        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        self._serializer = URLSafeTimedSerializer(
            secret.get_secret_value(), salt=SALT, signer=_Signer)
        signer = self._serializer.make_signer()
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self._clock = clock
        self._max_age = int(max_age.total_seconds())
        self.base_url = base_url.rstrip("/")

    def token(self, task_id: int, learner_id: int) -> str:
        """The serializer's ``dumps({"t": task_id, "u": learner_id})``, byte for byte, with
        the signing key derived once instead of per token (a dispatch signs one per task)."""
        payload = json.dumps({"t": int(task_id), "u": int(learner_id)},
                             separators=(",", ":")).encode()
        compressed = zlib.compress(payload)  # itsdangerous keeps whichever is shorter
        if len(compressed) < len(payload) - 1:
            body = b"." + base64_encode(compressed)
        else:
            body = base64_encode(payload)
        value = body + b"." + base64_encode(int_to_bytes(int(self._clock.now().timestamp())))
        mac = self._mac.copy()
        mac.update(value)
        return (value + b"." + base64_encode(mac.digest())).decode("ascii")

    def url(self, task_id: int, learner_id: int) -> str:
        """The learner's answer page for a task."""
        return f"{self.base_url}/practice/{self.token(task_id, learner_id)}"

    def check(self, token: str) -> LinkClaims:
        """The task and learner a token was made for.

        Raises:
            LinkError: forged, damaged or (``expired=True``) too old.
        """
        try:
            data = self._serializer.loads(token, max_age=self._max_age)
        except SignatureExpired as exc:
            raise LinkError("this link has expired", expired=True) from exc
        except BadSignature as exc:
            raise LinkError("this link is not valid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("t"), int) \
                or not isinstance(data.get("u"), int):
            raise LinkError("this link is not valid")
        return LinkClaims(task_id=data["t"], learner_id=data["u"])
