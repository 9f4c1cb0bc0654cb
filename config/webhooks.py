"""The ``webhooks`` section: which completion senders are accepted, their secrets, the limits,
and the reconciliation that finds completions no webhook announced.

Secrets come only from the environment or a file, never from the YAML file. Each source takes
several secrets at once (separated by spaces in the variable, one per line in the file) so that a
secret can be rotated without a moment when deliveries fail: add the new one, switch the
sender, remove the old one.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from pydantic_core import PydanticCustomError

STANDARD_WEBHOOKS_PREFIX = "whsec_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookSource(_Section):
    """One sender of completion events: on or off, and the secrets it may sign with."""

    enabled: bool = Field(default=False, description="Accept deliveries from this sender.")
    secrets: SecretStr | None = Field(
        default=None,
        description="The sender's secret(s), separated by spaces while rotating. Only from the "
        "environment (SIDECAR_WEBHOOKS__<SOURCE>__SECRETS) or `secrets_file`; never written in "
        "the config file.",
    )
    secrets_file: Path | None = Field(
        default=None,
        description="File holding the secret(s), one per line. A relative path is relative to "
        "the config file's folder.",
    )

    _from_file: list[SecretStr] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _read(self) -> WebhookSource:
        if self.secrets is not None and self.secrets_file is not None:
            raise PydanticCustomError(
                "secret_twice", "the secrets are set twice, by the environment and by "
                "secrets_file; keep one", {"field": "secrets_file"})
        if self.secrets_file is not None:
            try:
                text = self.secrets_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PydanticCustomError(
                    "secret_file_unreadable", "could not read the secrets file {path}: {reason}",
                    {"field": "secrets_file", "path": str(self.secrets_file),
                     "reason": getattr(exc, "strerror", None) or type(exc).__name__}) from exc
            self._from_file = [SecretStr(line) for line in text.split()]
        return self

    @property
    def resolved_secrets(self) -> list[SecretStr]:
        """Every secret in force, from the environment or the file; empty when none."""
        if self.secrets is not None:
            return [SecretStr(part) for part in self.secrets.get_secret_value().split()]
        return list(self._from_file)


class StandardWebhooksSource(WebhookSource):
    """lms-sidecar's own event schema, signed as Standard Webhooks specify."""

    @model_validator(mode="after")
    def _whsec(self) -> StandardWebhooksSource:
        for number, secret in enumerate(self.resolved_secrets, start=1):
            value = secret.get_secret_value().removeprefix(STANDARD_WEBHOOKS_PREFIX)
            try:
                decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
            except (binascii.Error, ValueError):
                decoded = b""
            if len(decoded) < 16:
                raise PydanticCustomError(
                    "whsec", "secret number {n} is not a Standard Webhooks secret: expected "
                    "whsec_ followed by at least 16 bytes in base64 (the value is not shown)",
                    {"n": number, "field": "secrets"})
        return self


class HeaderSecretSource(WebhookSource):
    """A sender that proves itself with a fixed secret in a header (Moodle's tool_trigger)."""

    header: str = Field(
        default="X-Sidecar-Secret", min_length=1,
        description="Name of the header that carries the secret, as set in the sender.",
    )


class ReportSettings(_Section):
    """A Report builder custom report of course completions, read in one call per page."""

    id: int | None = Field(
        default=None, ge=1,
        description="Id of the report (Moodle: Reportbuilder > Custom reports, the number in "
        "the report's address). Empty: completions are polled per learner instead.",
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone in which Moodle shows the report's times: the web-service "
        "user's time zone, by default the site's (Site administration > Location > "
        "Location settings > Default timezone).",
    )
    course_column: str = Field(
        default="Course short name", description="Header of the course short name column."
    )
    user_column: str = Field(default="Username", description="Header of the username column.")
    time_column: str = Field(
        default="Time completed", description="Header of the completion time column."
    )
    perpage: int = Field(default=500, ge=1, le=5000, description="Rows read per call.")

    @model_validator(mode="after")
    def _zone(self) -> ReportSettings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError(
                "timezone", "expected a time zone name such as UTC or Europe/London",
                {"field": "timezone"}) from exc
        return self


class WebhookSettings(_Section):
    """Completion events in: the senders accepted at /webhooks/..., limits, reconciliation."""

    sidecar: StandardWebhooksSource = Field(
        default_factory=StandardWebhooksSource,
        description="lms-sidecar's own event schema signed with Standard Webhooks "
        "(POST /webhooks/sidecar).",
    )
    totara: WebhookSource = Field(
        default_factory=WebhookSource,
        description="Totara 19 webhooks, X-Totara-Signature (POST /webhooks/totara).",
    )
    moodle: WebhookSource = Field(
        default_factory=WebhookSource,
        description="Moodle's local_webhooks plugin; the secret is its token field "
        "(POST /webhooks/moodle).",
    )
    tool_trigger: HeaderSecretSource = Field(
        default_factory=HeaderSecretSource,
        description="Moodle's tool_trigger HTTP post step with a header secret "
        "(POST /webhooks/tool-trigger).",
    )
    max_body_bytes: int = Field(
        default=65_536, ge=1024, le=10_485_760,
        description="Largest body accepted; a larger one is refused with 413.",
    )
    tolerance_seconds: int = Field(
        default=300, ge=1, le=86_400,
        description="How far a signed timestamp may be from this server's clock (replays older "
        "than this are refused).",
    )
    dedupe_window_hours: float = Field(
        default=24, gt=0, le=24 * 30,
        description="Two completions of one course by one learner this close together are one "
        "(senders and polling disagree on the exact time).",
    )
    reconcile_every_minutes: int | None = Field(
        default=15, ge=1,
        description="How often `sidecar serve` looks for completions no webhook announced; "
        "null for never.",
    )
    reconcile_lookback_days: int = Field(
        default=7, ge=0, le=365,
        description="On its first run, reconciliation takes completions from this many days "
        "back; older ones are recorded as ignored (no follow-ups for old courses).",
    )
    reconcile_overlap_hours: int = Field(
        default=48, ge=0, le=24 * 30,
        description="Each run looks this far behind the previous one, because Moodle records "
        "a completion with the time of its last criterion, possibly before the previous run.",
    )
    report: ReportSettings = Field(
        default_factory=ReportSettings,
        description="A Report builder report of completions, the cheapest way to poll.",
    )

    @model_validator(mode="after")
    def _enabled_have_secrets(self) -> WebhookSettings:
        for name in SOURCES:
            source: WebhookSource = getattr(self, name)
            if source.enabled and not source.resolved_secrets:
                raise PydanticCustomError(
                    "secret_missing", "webhooks.{name} is enabled but has no secret: set the "
                    "environment variable SIDECAR_WEBHOOKS__{upper}__SECRETS or "
                    "webhooks.{name}.secrets_file",
                    {"name": name, "upper": name.upper(), "field": f"{name}.secrets"})
        return self

    def source(self, name: str) -> WebhookSource:
        """The settings of the sender ``name`` (one of :data:`SOURCES`)."""
        if name not in SOURCES:
            raise KeyError(name)
        found: WebhookSource = getattr(self, name)
        return found


#: The senders, by their key in the config and their path under /webhooks/.
SOURCES: tuple[str, ...] = ("sidecar", "totara", "moodle", "tool_trigger")
