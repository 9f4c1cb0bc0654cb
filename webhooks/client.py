"""Sending lms-sidecar's own signed completion events: for the demo, tests and senders in Python.

    send_event("http://127.0.0.1:8080/webhooks/sidecar", "whsec_...",
               completion_event(courseid=8, userid=55, completed_at=moment))

Signs with the ``standardwebhooks`` package exactly as the receiver checks. Uses the standard
library's HTTP client (this is not an LMS transport, which alone owns ``requests``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from standardwebhooks.webhooks import Webhook

from webhooks.events import SIDECAR_COMPLETED


@dataclass(frozen=True)
class Delivery:
    """The receiver's answer: HTTP status and parsed JSON body (empty when it was not JSON)."""

    status: int
    body: dict[str, Any]
    msg_id: str


def completion_event(courseid: int, userid: int, completed_at: datetime) -> dict[str, Any]:
    """A course completion in lms-sidecar's schema (webhooks/README.md)."""
    return {"type": SIDECAR_COMPLETED, "timestamp": datetime.now(UTC).isoformat(),
            "data": {"courseid": courseid, "userid": userid,
                     "timecompleted": int(completed_at.timestamp())}}


def signed_headers(secret: str, body: str, *, msg_id: str | None = None,
                   timestamp: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` signed with ``secret`` (``whsec_...``)."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    moment = timestamp or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, moment, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


def send_event(url: str, secret: str, event: dict[str, Any], *, msg_id: str | None = None,
               timestamp: datetime | None = None, timeout: float = 10.0) -> Delivery:
    """POST ``event`` to ``url`` signed with ``secret``; returns the answer, 4xx/5xx included.

    Raises:
        ValueError: ``url`` is not http(s).
        OSError: the receiver could not be reached.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("the receiver's address must start with http:// or https://")
    body = json.dumps(event, separators=(",", ":"))
    headers = signed_headers(secret, body, msg_id=msg_id, timestamp=timestamp)
    req = Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
    try:
        with urlopen(req, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            status, raw = response.status, response.read()
    except HTTPError as error:
        status, raw = error.code, error.read()
    try:
        parsed = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        parsed = {}
    return Delivery(status, parsed if isinstance(parsed, dict) else {}, headers["webhook-id"])
