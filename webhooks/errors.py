"""The errors of the webhook half: each says what was wrong, never a secret or a signature.

The receiver turns them into HTTP answers by ``status``: 400 (malformed body), 401 (signature),
413 (too large). None of them is worth a retry by the sender except a store fault (503).
"""

from __future__ import annotations


class WebhookError(Exception):
    """Root of the webhook package's errors; ``status`` is the HTTP answer the receiver gives."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadError(WebhookError, ValueError):
    """The body is not what the source sends (not JSON, a field missing or of the wrong type)."""

    status = 400


class SignatureError(WebhookError):
    """The signature, token or header secret is missing, wrong, or the timestamp is stale."""

    status = 401


class TooLargeError(WebhookError):
    """The body is larger than ``webhooks.max_body_bytes``."""

    status = 413


class InboxError(WebhookError):
    """An inbox operation named a row that does not exist or a status that is not allowed."""


class ReconcileError(WebhookError):
    """Reconciliation could not read the LMS's answer (e.g. a report cell it cannot parse)."""
