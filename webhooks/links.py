"""Signed, expiring learner links: the link is the credential, so it carries no secret.

The token holds the task id and the learner id, signed with ``followups.link_secret``
(itsdangerous, HMAC-SHA1 with a per-purpose salt) and stamped with the clock's time, so it
expires ``followups.link_max_age_days`` after the message was sent.
"""

from __future__ import annotations

import binascii
import hmac
import zlib
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes
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
        self._stamp: tuple[int, bytes] = (-1, b"")
        self.base_url = base_url.rstrip("/")

    def token(self, task_id: int, learner_id: int) -> str:
        """The serializer's ``dumps({"t": task_id, "u": learner_id})``, byte for byte, with
        the signing key derived once instead of per token (a dispatch signs one per task)."""
        payload = b'{"t":%d,"u":%d}' % (int(task_id), int(learner_id))  # json.dumps' text
        if _compression_may_help(payload):  # itsdangerous keeps whichever is shorter
            compressed = zlib.compress(payload)
            if len(compressed) < len(payload) - 1:
                payload = b"." + _base64(compressed)
            else:
                payload = _base64(payload)
        else:
            payload = _base64(payload)
        value = payload + b"." + self._timestamp()
        mac = self._mac.copy()
        mac.update(value)
        return (value + b"." + _base64(mac.digest())).decode("ascii")

    def _timestamp(self) -> bytes:
        """The clock's second as the serializer encodes it (kept while the second lasts)."""
        now = int(self._clock.now().timestamp())
        stamp = self._stamp
        if stamp[0] != now:
            stamp = self._stamp = (now, _base64(int_to_bytes(now)))
        return stamp[1]

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


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _base64(data: bytes) -> bytes:
    """itsdangerous' ``base64_encode`` (URL-safe, no padding) without its three Python
    layers: a token encodes three parts."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=")


#: Payloads longer than this are always tried with zlib.
_SHORT = 30
#: A short payload with at most this many 3-byte runs seen earlier in it is not tried.
_FEW_REPEATS = 4


def _compression_may_help(payload: bytes) -> bool:
    """False when ``zlib.compress(payload)`` is certainly not shorter than ``len - 1``, the
    serializer's test, so the token is the same without compressing (zlib sets up some 256
    KiB of state per call: most of the CPU of a token).

    A gain needs the deflate data (zlib adds 6 bytes) 74 bits under the 8 bits a byte plus
    10 of a fixed-code block (these bytes are all below 144). A match must start on a 3-byte
    run seen earlier and costs at least 12 bits, so each such run saves at most 12 bits: 4
    save at most 48. Zlib writes a dynamic-code block only when it is smaller still, which
    its code tables prevent on payloads this short (checked over 1.5 million low-entropy and
    shared-prefix payloads up to 32 bytes: with at most 4 runs seen earlier zlib's output is
    at least ``len + 2``, a gain needs ``len - 2``). Anything else is compressed and compared
    as the serializer does. Were this ever wrong, the token would only be a byte or two
    longer: :meth:`LinkSigner.check` reads compressed and plain payloads alike.
    """
    size = len(payload)
    if size > _SHORT:
        return True
    distinct = len(set(zip(payload, payload[1:], payload[2:], strict=False)))
    return size - 2 - distinct > _FEW_REPEATS
