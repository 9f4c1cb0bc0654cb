"""The whole configuration of lms-sidecar as pydantic models: one `Settings`, a section per area.

Values come, highest priority first, from keyword arguments, environment variables
(`SIDECAR_LMS__URL` sets `lms.url`), the YAML config file (handed in by `config.loader`) and the
defaults below. Secrets (`lms.token`, `lms.password`) come only from the environment or from a file
named in the config; the loader refuses them when they are written in the YAML file.

To add a section: write one model (`extra="forbid"`, every field with `description=`) and add one
field to `Settings`. Secret fields (`SecretStr`), path fields (`Path`) and the loader's error
messages, key suggestions and file-relative paths pick the new section up on their own.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from config.goals import GoalSettings
from config.totara import TotaraSettings
from config.webhooks import WebhookSettings

ENV_PREFIX = "SIDECAR_"
ENV_NESTED_DELIMITER = "__"
DEFAULT_STORE_URL = "sqlite:///sidecar.sqlite"

# Paths that a site admin pastes by mistake instead of the site root.
_ENDPOINT_SUFFIXES = ("/webservice/rest/server.php", "/login/token.php", "/webservice/rest")


class Section(BaseModel):
    """Base of every configuration section: unknown keys are errors, so typos are caught."""

    model_config = ConfigDict(extra="forbid")


class TimeoutSettings(Section):
    connect: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the LMS to accept a connection."
    )
    read: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for the LMS to answer one web-service call.",
    )


class RetrySettings(Section):
    attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="How many times one call is tried in all when the LMS fails transiently "
        "(connection errors, timeouts, HTTP 429/502/503/504). 1 means no retry.",
    )
    backoff: float = Field(
        default=0.5,
        ge=0,
        description="Seconds to wait before the first retry; doubles on each retry.",
    )
    max_backoff: float = Field(
        default=30.0, gt=0, description="Longest wait between two retries, seconds."
    )


class LmsSettings(Section):
    """Where the LMS is and how lms-sidecar signs in to its web services."""

    kind: Literal["moodle", "totara"] = Field(
        default="moodle", description="Which LMS the site runs."
    )
    url: str = Field(
        description="Address of the site root, as learners type it, e.g. https://lms.example.org "
        "(not the web-service endpoint)."
    )
    token: SecretStr | None = Field(
        default=None,
        description="Web-service token. Only from the environment variable SIDECAR_LMS__TOKEN "
        "(or use token_file); never written in the config file.",
    )
    token_file: Path | None = Field(
        default=None,
        description="File holding the web-service token (surrounding whitespace is ignored). "
        "A relative path is relative to the config file's folder.",
    )
    username: str | None = Field(
        default=None,
        description="Instead of a fixed token: the Moodle user whose password fetches a token "
        "from /login/token.php.",
    )
    password: SecretStr | None = Field(
        default=None,
        description="Password of `username`. Only from the environment variable "
        "SIDECAR_LMS__PASSWORD (or use password_file); never written in the config file.",
    )
    password_file: Path | None = Field(
        default=None,
        description="File holding the password of `username`. A relative path is relative to "
        "the config file's folder.",
    )
    client_id: str | None = Field(
        default=None,
        description="Totara only: the id of the API client (Quick-access menu > Development > "
        "API > Clients) whose service account lms-sidecar acts as in the GraphQL API.",
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="Totara only: the API client's secret. Only from the environment variable "
        "SIDECAR_LMS__CLIENT_SECRET (or use client_secret_file); never written in the config file.",
    )
    client_secret_file: Path | None = Field(
        default=None,
        description="Totara only: file holding the API client's secret. A relative path is "
        "relative to the config file's folder.",
    )
    service: str = Field(
        default="lms_sidecar",
        min_length=1,
        description="Short name of the external service in Moodle that lists the functions "
        "lms-sidecar may call (Site administration > Server > Web services > External services).",
    )
    format: Literal["json", "xml"] = Field(
        default="json", description="Response format asked of the REST protocol."
    )
    timeout: TimeoutSettings = Field(
        default_factory=TimeoutSettings, description="Network time limits."
    )
    retries: RetrySettings = Field(
        default_factory=RetrySettings,
        description="Retries of calls that failed transiently.",
    )
    max_input_vars: int = Field(
        default=1000,
        ge=20,
        description="PHP max_input_vars of the site: long lists are sent in batches below it, "
        "because PHP silently drops the rest of a larger request.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=32, description="Web-service calls in flight at once."
    )
    rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="Most calls per second sent to the site; empty means no limit.",
    )
    verify_tls: bool = Field(
        default=True,
        description="Check the site's HTTPS certificate. Turn off only for a test site.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of the certificate authorities to trust, for a site whose "
        "certificate comes from an in-house CA.",
    )

    _token_from_file: SecretStr | None = PrivateAttr(default=None)
    _password_from_file: SecretStr | None = PrivateAttr(default=None)
    _client_secret_from_file: SecretStr | None = PrivateAttr(default=None)

    @field_validator("url")
    @classmethod
    def _site_root(cls, value: str) -> str:
        return normalise_site_url(value)

    @model_validator(mode="after")
    def _credentials(self) -> LmsSettings:
        if self.token_file is not None:
            self._token_from_file = _read_secret_file(self.token_file, "token_file", "token")
        if self.password_file is not None:
            self._password_from_file = _read_secret_file(
                self.password_file, "password_file", "password"
            )
        _check_one_source(self.token, self.token_file, "token")
        _check_one_source(self.password, self.password_file, "password")
        if self.kind == "totara":
            return self._totara_credentials()
        has_token = self.resolved_token is not None
        has_login = self.username is not None or self.resolved_password is not None
        if has_token and has_login:
            raise PydanticCustomError(
                "credentials_conflict",
                "both a token and a username/password are set; keep one way of signing in",
            )
        if has_token:
            return self
        if not has_login:
            raise PydanticCustomError(
                "credentials_missing",
                "no credentials: set the environment variable SIDECAR_LMS__TOKEN, or "
                "lms.token_file, or lms.username with SIDECAR_LMS__PASSWORD or lms.password_file",
            )
        if self.username is None:
            raise PydanticCustomError(
                "credentials_incomplete",
                "a password is given but no username; set lms.username",
                {"field": "username"},
            )
        if self.resolved_password is None:
            raise PydanticCustomError(
                "credentials_incomplete",
                "no password for this user: set the environment variable "
                "SIDECAR_LMS__PASSWORD or lms.password_file",
                {"field": "username"},
            )
        return self

    def _totara_credentials(self) -> LmsSettings:
        """Totara: an API client (id + secret) for GraphQL; a web-service token is optional and
        serves the legacy web services (course links, completions, messages)."""
        if self.client_secret_file is not None:
            self._client_secret_from_file = _read_secret_file(
                self.client_secret_file, "client_secret_file", "client secret")
        if self.client_secret is not None and self.client_secret_file is not None:
            raise PydanticCustomError(
                "secret_twice", "the client secret is set twice, by SIDECAR_LMS__CLIENT_SECRET "
                "and by lms.client_secret_file; keep one", {"field": "client_secret_file"})
        if self.username is not None or self.resolved_password is not None:
            raise PydanticCustomError(
                "credentials_conflict", "a Totara site signs lms-sidecar in with an API client "
                "(lms.client_id and SIDECAR_LMS__CLIENT_SECRET), not a username and password",
                {"field": "username"})
        if not self.client_id:
            raise PydanticCustomError(
                "credentials_missing", "lms.kind is totara: set lms.client_id to the id of an "
                "API client (Quick-access menu > Development > API > Clients)",
                {"field": "client_id"})
        if self.resolved_client_secret is None:
            raise PydanticCustomError(
                "credentials_missing", "no secret for API client {client}: set the environment "
                "variable SIDECAR_LMS__CLIENT_SECRET or lms.client_secret_file",
                {"field": "client_id", "client": self.client_id})
        return self

    @property
    def resolved_client_secret(self) -> SecretStr | None:
        """Totara's API client secret, from the environment or `client_secret_file`."""
        if self.client_secret is not None:
            return self.client_secret
        return self._client_secret_from_file

    @property
    def resolved_token(self) -> SecretStr | None:
        """The web-service token, from SIDECAR_LMS__TOKEN or read from `token_file`; else None."""
        return self.token if self.token is not None else self._token_from_file

    @property
    def resolved_password(self) -> SecretStr | None:
        """The password of `username`, from SIDECAR_LMS__PASSWORD or `password_file`; else None."""
        return self.password if self.password is not None else self._password_from_file

    @property
    def auth(self) -> Literal["token", "password"]:
        """How the client signs in: a fixed token, or username + password via /login/token.php."""
        return "token" if self.resolved_token is not None else "password"


class StoreSettings(Section):
    url: str = Field(
        default=DEFAULT_STORE_URL,
        description="SQLAlchemy database URL of the state store: a SQLite file (a relative path "
        "is relative to the config file's folder) or postgresql+psycopg://user@host/db.",
        json_schema_extra={"relative_sqlite": True},
    )


class SyncSettings(Section):
    """The competency framework sync: where the sources are and when it runs."""

    sources: list[Path] = Field(
        default_factory=list,
        description="Framework source files (YAML, Moodle competency CSV or CASE JSON) or "
        "folders of them; relative paths are relative to the config file's folder.",
    )
    on_missing: Literal["leave", "hide", "delete"] = Field(
        default="leave",
        description="What to do with a competency that is in Moodle but no longer in the "
        "source: leave it (and list it in the plan), hide (frameworks only; Moodle cannot hide "
        "a single competency) or delete it (never one that Moodle reports as in use).",
    )
    schedule: str | None = Field(
        default="0 2 * * *",
        description="When `sidecar serve` runs the sync: a cron expression (minute hour day "
        "month weekday), or null for never.",
    )
    timezone: str = Field(
        default="UTC", description="Time zone of the schedule, e.g. Europe/Paris."
    )
    misfire_grace_seconds: int = Field(
        default=3600,
        ge=0,
        description="A run missed while the service was down is still made if it is at most "
        "this many seconds late.",
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value.strip())
        except ValueError as exc:
            raise PydanticCustomError(
                "cron", "expected a cron expression of five fields, such as '0 2 * * *' ({why})",
                {"why": str(exc)},
            ) from exc
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PydanticCustomError(
                "timezone", "expected a time zone name such as UTC or Europe/Paris", {}
            ) from exc
        return value


class SkillsMapSettings(Section):
    """Course-to-competency links: the mapping file, suggestions and how they are approved."""

    mapping_file: Path | None = Field(
        default=None,
        description="The mapping file (YAML or CSV) of course-to-competency links that "
        "`sidecar map plan` / `apply` carry out and `sidecar map review` adds accepted "
        "suggestions to; a relative path is relative to the config file's folder.",
    )
    threshold: float = Field(
        default=0.15, ge=0, le=1,
        description="Lowest score (cosine similarity, 0 to 1) of a suggestion worth proposing.",
    )
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Per framework idnumber, a threshold that replaces `threshold`; "
        "`sidecar map review --tune` reports the one past decisions would pick.",
    )
    top_k: int = Field(
        default=3, ge=1, le=50,
        description="Most suggestions proposed per course and framework.",
    )
    method: Literal["tfidf", "embeddings", "auto"] = Field(
        default="auto",
        description="How texts are compared: tfidf (built in), embeddings (needs the "
        "optional extra `embeddings`), or auto (embeddings blended in when installed).",
    )
    auto_accept: bool = Field(
        default=False,
        description="Accept suggestions at or above `auto_accept_threshold` without a "
        "person (each one is still written to the audit log as accepted by auto-accept).",
    )
    auto_accept_threshold: float = Field(
        default=0.5, ge=0, le=1,
        description="Score from which suggestions are accepted when `auto_accept` is on.",
    )
    reviewer: str | None = Field(
        default=None,
        description="Name recorded in the audit log for review decisions; empty means the "
        "operating-system user running `sidecar map review`.",
    )

    @field_validator("thresholds")
    @classmethod
    def _scores(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not 0 <= v <= 1]
        if bad:
            raise PydanticCustomError(
                "threshold", "expected scores between 0 and 1 (for {keys})",
                {"keys": ", ".join(bad)})
        return value


class FeatureSettings(Section):
    """Which features are switched on; each one needs certain web-service functions."""

    frameworks: bool = Field(default=True, description="Keep competency frameworks in step.")
    skills_map: bool = Field(default=True, description="Link courses to competencies.")
    goals: bool = Field(default=True, description="Turn performance goals into learning plans.")
    followups: bool = Field(
        default=True, description="Schedule follow-up practice after completions."
    )


class QuietHours(Section):
    """A daily window in which no follow-up is sent (it waits until the window ends)."""

    start: str = Field(default="20:00", description="Start of the quiet window, HH:MM.")
    end: str = Field(default="08:00", description="End of the quiet window, HH:MM; may be on "
                     "the next day (20:00 to 08:00 spans midnight).")

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60
                and len(minutes) == 2):
            raise PydanticCustomError("clock_time", "expected a time of day such as 20:00", {})
        return f"{int(hours):02d}:{minutes}"


class CoachSettings(Section):
    """The Moodle account that sends follow-up practice tasks to learners ("practice coach")."""

    token: SecretStr | None = Field(
        default=None,
        description="Web-service token of the coach account. Only from the environment variable "
        "SIDECAR_FOLLOWUPS__COACH__TOKEN (or use token_file); never written in the config file. "
        "The coach must be allowed to message learners (a site admin may message anyone; "
        "otherwise Moodle refuses with msgid -1).",
    )
    token_file: Path | None = Field(
        default=None,
        description="File holding the coach's web-service token. A relative path is relative "
        "to the config file's folder.",
    )

    _token_from_file: SecretStr | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _read_file(self) -> CoachSettings:
        if self.token_file is not None:
            self._token_from_file = _read_secret_file(self.token_file, "token_file", "token")
        if self.token is not None and self.token_file is not None:
            raise PydanticCustomError(
                "secret_twice", "the coach token is set twice, by "
                "SIDECAR_FOLLOWUPS__COACH__TOKEN and by followups.coach.token_file; keep one",
                {"field": "token_file"})
        return self

    @property
    def resolved_token(self) -> SecretStr | None:
        """The coach's token, from the environment or `token_file`; None when not given."""
        return self.token if self.token is not None else self._token_from_file


class FollowupSettings(Section):
    """Follow-up practice after a course completion: plans, spacing, sending rules, the page."""

    plans_file: Path | None = Field(
        default=None,
        description="YAML file of follow-up plans (courses/competencies -> practice tasks); "
        "relative to the config file's folder. No file: no follow-ups are scheduled.",
    )
    spacing_days: list[int] = Field(
        default_factory=lambda: [2, 7, 21, 60],
        min_length=1,
        description="Default days after the completion on which the tasks fall due; a plan may "
        "set its own. FSRS adapts the later ones to the learner's answers within these bounds.",
    )
    working_days_only: bool = Field(
        default=False, description="Move a due date that falls on a Saturday or Sunday to Monday."
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone for quiet hours and the daily cap when the learner's Moodle "
        "profile has none (Moodle's 99: the server's zone).",
    )
    quiet_hours: QuietHours | None = Field(
        default_factory=QuietHours,
        description="No messages in this daily window (learner's time zone); null for none.",
    )
    daily_cap: int = Field(
        default=1, ge=1, le=50, description="Most follow-up messages one learner gets a day."
    )
    max_repeats: int = Field(
        default=2, ge=0, le=10,
        description="How often a task answered 'not yet' is sent again before moving on.",
    )
    coach: CoachSettings = Field(
        default_factory=CoachSettings, description="The account that sends the tasks."
    )
    public_url: str | None = Field(
        default=None,
        description="Public address of `sidecar serve` as learners reach it, e.g. "
        "https://sidecar.example.org; the learner's answer links start with it.",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs learner links. Only from the environment variable "
        "SIDECAR_FOLLOWUPS__LINK_SECRET (or use link_secret_file).",
    )
    link_secret_file: Path | None = Field(
        default=None, description="File holding the key that signs learner links."
    )
    link_max_age_days: int = Field(
        default=30, ge=1, le=365, description="Days a learner's answer link stays valid."
    )
    calendar_events: bool = Field(
        default=False,
        description="Also create a calendar event per task. Moodle puts a `user` event in the "
        "calendar of the token's own user (the coach), never the learner's, so this only "
        "gives the coach an agenda; off by default.",
    )
    check_enrolment: bool = Field(
        default=True,
        description="Before sending, stop a sequence whose learner is suspended or no "
        "longer enrolled in the course.",
    )
    stop_when_proficient: bool = Field(
        default=True,
        description="Stop a sequence once its competency is rated proficient in one of the "
        "learner's learning plans.",
    )
    batch_size: int = Field(
        default=100, ge=1, le=1000, description="Tasks claimed and sent per web-service call."
    )
    sending_lease_seconds: int = Field(
        default=600, ge=1,
        description="A task still marked as being sent after this long is looked up in Moodle "
        "(did the message arrive?) before it is sent again.",
    )
    dispatch_interval_seconds: int = Field(
        default=60, ge=5, description="How often `sidecar serve` sends due tasks."
    )
    intake_interval_seconds: int = Field(
        default=30, ge=5, description="How often `sidecar serve` turns new completions into "
        "follow-up sequences."
    )
    progress_interval_seconds: int = Field(
        default=900, ge=60, description="Totara 19+ goal tasks: how often `sidecar serve` "
        "reads which practice tasks learners ticked (each tick becomes the answer \"done\")."
    )
    progress_window_days: int = Field(
        default=60, ge=1, description="Totara 19+ goal tasks: how far back delivered practice "
        "tasks are checked for a tick."
    )

    _link_secret_from_file: SecretStr | None = PrivateAttr(default=None)

    @field_validator("spacing_days")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(day < 1 for day in value) or value != sorted(set(value)):
            raise PydanticCustomError(
                "spacing", "expected whole days, at least 1, strictly increasing, such as "
                "[2, 7, 21, 60]", {})
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return SyncSettings._zone(value)

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise PydanticCustomError(
                "public_url", "expected an http(s) address such as https://sidecar.example.org",
                {})
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _read_secret(self) -> FollowupSettings:
        if self.link_secret_file is not None:
            self._link_secret_from_file = _read_secret_file(
                self.link_secret_file, "link_secret_file", "link secret")
        return self

    @property
    def resolved_link_secret(self) -> SecretStr | None:
        """The link-signing key, from the environment or `link_secret_file`; else None."""
        if self.link_secret is not None:
            return self.link_secret
        return self._link_secret_from_file


class ServerSettings(Section):
    """`sidecar serve`: where it listens, and how many worker processes and threads it runs."""

    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on; 127.0.0.1 behind a reverse proxy, 0.0.0.0 for all.",
    )
    port: int = Field(default=8080, ge=1, le=65535, description="Port to listen on.")
    workers: int = Field(
        default=1, ge=1, le=64, description="Worker processes (gunicorn); 1 suits a small site."
    )
    threads: int = Field(
        default=1, ge=1, le=64,
        description="Threads per worker (gunicorn gthread when more than 1). With the store on "
        "SQLite (one writer) 1 worker x 4 threads serves webhooks best; see docs/benchmarks.md.",
    )


class AdminSettings(Section):
    """The admin pages of `sidecar serve`: who may sign in, and how sessions are kept."""

    password: SecretStr | None = Field(
        default=None,
        description="The admin password, only from SIDECAR_ADMIN__PASSWORD (hashed in memory "
        "at start). Prefer password_hash.",
    )
    password_hash: str | None = Field(
        default=None,
        description="The admin password as a hash made by `sidecar admin hash-password` "
        "(safe to keep in this file). The admin pages are off when neither is set.",
    )
    session_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies, only from SIDECAR_ADMIN__SESSION_KEY or "
        "session_key_file; the same on every worker and instance.",
    )
    session_key_file: Path | None = Field(
        default=None, description="File holding the session key (whitespace stripped)."
    )
    secure_cookies: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only; false only for plain-HTTP tests.",
    )
    session_minutes: int = Field(
        default=480, ge=5, le=10080, description="Sign-in lasts this many minutes."
    )
    signin_limit: str = Field(
        default="5 per minute",
        description="Sign-in attempts allowed per client address (Flask-Limiter syntax).",
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where sign-in attempts are counted: memory:// (per process) or "
        "redis://host:6379 (shared by every worker and instance).",
    )

    @property
    def enabled(self) -> bool:
        return self.password is not None or bool(self.password_hash)

    @property
    def resolved_session_key(self) -> SecretStr | None:
        if self.session_key is not None:
            return self.session_key
        if self.session_key_file is not None:
            return _read_secret_file(self.session_key_file, "session_key_file", "session key")
        return None


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log level written."
    )
    json_lines: bool = Field(
        default=False, alias="json", description="Write logs as one JSON object per line."
    )


class YamlDataSource(PydanticBaseSettingsSource):
    """Settings source holding the values already read from the YAML config file."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


# Set by `config.loader` while it builds Settings from a file; None for direct construction.
FILE_VALUES: ContextVar[dict[str, Any] | None] = ContextVar("sidecar_file_values", default=None)


class Settings(BaseSettings):
    """The whole configuration. Build it with `config.load_settings()`, or directly in tests."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        case_sensitive=False,
    )

    lms: LmsSettings = Field(description="The LMS site and how to sign in to it.")
    store: StoreSettings = Field(
        default_factory=StoreSettings,
        description="Where lms-sidecar keeps its own state.",
    )
    sync: SyncSettings = Field(
        default_factory=SyncSettings, description="The competency framework sync."
    )
    skills_map: SkillsMapSettings = Field(
        default_factory=SkillsMapSettings,
        description="Course-to-competency links, suggestions and their approval.",
    )
    features: FeatureSettings = Field(
        default_factory=FeatureSettings, description="Which features are switched on."
    )
    followups: FollowupSettings = Field(
        default_factory=FollowupSettings,
        description="Follow-up practice tasks after course completions.",
    )
    goals: GoalSettings = Field(
        default_factory=GoalSettings,
        description="Performance goals from HR as learning plans.",
    )
    webhooks: WebhookSettings = Field(
        default_factory=WebhookSettings,
        description="Completion events in: webhook senders, limits and reconciliation.",
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="How `sidecar serve` listens."
    )
    admin: AdminSettings = Field(
        default_factory=AdminSettings, description="The admin pages and who may sign in."
    )
    totara: TotaraSettings = Field(
        default_factory=TotaraSettings,
        description="Totara-only options (lms.kind: totara): HR Import folder, release.",
    )
    logging: LoggingSettings = Field(
        default_factory=LoggingSettings, description="What is logged, and how."
    )

    _config_file: Path | None = PrivateAttr(default=None)

    @property
    def config_file(self) -> Path | None:
        """The YAML file these settings were loaded from; None when built directly."""
        return self._config_file

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments > environment > YAML file > defaults; no .env or secrets dir."""
        file_values = FILE_VALUES.get()
        if file_values is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, YamlDataSource(settings_cls, file_values))


def normalise_site_url(value: str) -> str:
    """Check that `value` is an http(s) site root and return it without a trailing slash."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError(
            "site_url", "expected an http(s) address such as https://lms.example.org"
        )
    if parts.query or parts.fragment:
        raise PydanticCustomError("site_url", "expected the site root without ?query or #fragment")
    root = value.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if root.endswith(suffix):
            raise PydanticCustomError(
                "site_url",
                "expected the site root, not the web-service endpoint; use {root}",
                {"root": root[: -len(suffix)] or root},
            )
    return root


def _read_secret_file(path: Path, field: str, what: str) -> SecretStr:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise PydanticCustomError(
            "secret_file_unreadable",
            "could not read the {what} file {path}: {reason}",
            {"field": field, "what": what, "path": str(path), "reason": reason},
        ) from exc
    if not text:
        raise PydanticCustomError(
            "secret_file_empty",
            "the {what} file {path} is empty",
            {"field": field, "what": what, "path": str(path)},
        )
    return SecretStr(text)


def _check_one_source(value: SecretStr | None, path: Path | None, what: str) -> None:
    if value is not None and path is not None:
        raise PydanticCustomError(
            "secret_twice",
            "the {what} is set twice, by SIDECAR_LMS__{upper} and by lms.{what}_file; keep one",
            {"field": f"{what}_file", "what": what, "upper": what.upper()},
        )
