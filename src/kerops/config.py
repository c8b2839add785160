"""Settings: one pydantic-settings object, environment prefix KEROPS_."""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The framework speed-ups (``kerops.speedups``), by the name their switch uses.
SpeedupName = Literal[
    "fastapi_params",
    "fastapi_dependencies",
    "route_index",
    "direct_reads",
    "audit_committed_state",
    "scope_with_begin",
    "scope_affinity",
]


class Settings(BaseSettings):
    """Every tunable of the service; read from the environment (prefix ``KEROPS_``)."""

    model_config = SettingsConfigDict(
        env_prefix="KEROPS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./kerops-data")
    database_url: str | None = None
    #: PostgreSQL: the URL of the role that owns the tables, used by the migrations
    #: (``kerops db upgrade``) instead of ``database_url``, whose role then only reads and writes
    #: rows under row-level security (docs/deploy.md). Unset: the migrations use ``database_url``.
    migration_database_url: str | None = None
    #: PostgreSQL connections each process opens at most (as needed, then kept open); a request
    #: finding them all busy waits for one.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    #: Seconds to wait for PostgreSQL to accept a new connection; an unreachable database is
    #: then answered 503 with ``Retry-After`` instead of keeping the request waiting.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Seconds a request waits for a free pooled connection (PostgreSQL) before it is a 503.
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    secret_key: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    #: The address people reach the service at (``KEROPS_PUBLIC_URL``, e.g.
    #: ``https://ops.example.cl``): the base of every link the product writes (QR codes, scan
    #: follow-up links, invitations, SSO callbacks, notification e-mails). Its former name,
    #: ``KEROPS_PUBLIC_BASE_URL``, is still read when the new one is unset.
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KEROPS_PUBLIC_URL", "KEROPS_PUBLIC_BASE_URL"),
    )
    log_level: str = "INFO"
    log_json: bool = True

    access_token_minutes: int = 15
    refresh_token_days: int = 30
    jwt_issuer: str = "kerops"
    jwt_audience: str = "kerops-api"
    #: How long a process reuses the principal of an access token without reading the user's row
    #: (0: read it on every request). Changes made through the app apply at once in the process
    #: that made them; elsewhere (other workers) within this many seconds.
    principal_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    #: FastAPI's own OpenTelemetry traces, metrics and logs of each request, for a process that
    #: configures an OpenTelemetry SDK (off: the check costs every request, and logs are
    #: structlog's).
    opentelemetry: bool = False
    #: Framework speed-ups switched off, comma-separated (``KEROPS_SPEEDUPS_OFF=route_index``):
    #: each relies on library internals; the app answers the same without it, only slower.
    speedups_off: Annotated[frozenset[SpeedupName], NoDecode] = frozenset()

    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    otp_ttl_minutes: int = 5
    otp_max_attempts: int = 5
    otp_length: int = 6
    invite_ttl_hours: int = 72

    rate_limit_storage_url: str = "memory://"
    login_rate_limit: str = "10/minute"
    login_ip_rate_limit: str = "50/minute"
    otp_rate_limit: str = "5/minute"
    otp_ip_rate_limit: str = "30/minute"
    public_rate_limit: str = "60/minute"

    email_backend: Literal["console", "smtp"] = "console"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str = "KER Ops <no-reply@kerops.local>"

    #: Days the sync log keeps tombstones, departures and resets; an app's sync cursor older
    #: than that answers 410 ``sync_cursor_expired`` (it syncs fully again).
    sync_tombstone_days: int = Field(default=30, ge=1, le=3650)

    pagination_default_limit: int = Field(default=50, ge=1)
    pagination_max_limit: int = Field(default=200, ge=1)
    #: The most rows one spreadsheet export holds (a larger one is refused: narrow its filters).
    export_max_rows: int = Field(default=50_000, ge=1)
    #: Rows a list's export (``GET {list}/export``) answers directly; more: ask ``POST /reports``.
    report_direct_max_rows: int = Field(default=5_000, ge=1)
    #: How long a report's file is kept (then swept) and its signed link lives.
    report_file_days: int = Field(default=7, ge=1)
    report_link_seconds: int = Field(default=86_400, ge=60)

    sso_allow_insecure_http: bool = False

    #: Largest accepted JSON or form body, in bytes (a larger one is a 413 before it is read).
    #: File uploads and IoT batches have their own limits (``attachment_max_bytes``,
    #: ``iot_max_body_bytes``).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Browser origins allowed to call the API (CORS), e.g. ``https://app.example.com``; a JSON
    #: list or comma-separated. Empty: no CORS headers at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    #: Largest accepted upload (ticket attachments, certification documents, scan photos).
    attachment_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    #: Largest accepted spreadsheet of an import (``POST /imports/{kind}``), in bytes.
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    #: Most data rows one import may hold.
    import_max_rows: int = Field(default=20_000, ge=1)
    #: Where uploaded files live: ``local`` (``data_dir/files``) or an S3-compatible bucket.
    storage_backend: Literal["local", "s3"] = "local"
    storage_local_dir: Path | None = None
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = ""
    s3_allow_http: bool = False

    #: Job broker: unset runs jobs in-process (and the scheduler inside ``serve``); ``redis://``
    #: (Redis Streams) or ``amqp://`` (RabbitMQ) hand them to ``kerops worker`` processes.
    broker_url: str | None = None
    broker_queue: str = "kerops"
    #: A job a dead worker took is delivered again after this long (Redis Streams).
    broker_redelivery_seconds: int = Field(default=600, ge=5)
    #: In-process broker only: run the periodic jobs inside ``serve``.
    embedded_scheduler: bool = True
    #: In-process broker only: run a queued job before the request that queued it answers.
    jobs_inline: bool = False
    #: Periods of periodic jobs in seconds, overriding their defaults: ``{"pm.generate": 30}``.
    job_intervals: dict[str, int] = Field(default_factory=dict)
    #: A job failing on a transient database error (connection lost or refused, serialization
    #: failure, deadlock, SQLite "database is locked") is run again this many times ...
    job_retries: int = Field(default=3, ge=0, le=20)
    #: ... after this many seconds, doubling each time (0.5, 1, 2: 3.5 s in all).
    job_retry_seconds: float = Field(default=0.5, ge=0, le=60)
    #: The relay sweep (``jobs.relay``) sends a queued job again when it has not run this many
    #: seconds after its commit (the broker was down, the message was lost, the job failed).
    job_relay_after_seconds: int = Field(default=60, ge=0)

    # --- notifications and webhooks (docs/notifications.md) ---
    #: Also email each in-app notification to its recipient.
    notification_email: bool = True
    #: Let webhooks target loopback and private addresses (on-premise receivers); link-local,
    #: multicast and reserved addresses stay refused.
    webhook_allow_private: bool = False
    #: Timeout of one webhook request (connect, write, read), in seconds.
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    #: Attempts of one delivery before it is dead (kept for a manual retry).
    webhook_max_attempts: int = Field(default=8, ge=1, le=20)

    # --- automation: preventive maintenance and diagnosis (docs/automation.md) ---
    #: A plan whose last N generated tickets were never started is flagged as neglected.
    pm_neglect_after: int = Field(default=3, ge=1)
    #: Diagnosis compares a ticket with at most this many recent resolved tickets of its client.
    diagnosis_history_limit: int = Field(default=2000, ge=1)
    #: Each process reuses a client's indexed history for this many seconds (0: read and index
    #: it for every diagnosis); a newly resolved ticket is compared with at most this late.
    diagnosis_index_seconds: int = Field(default=300, ge=0)
    #: Optional LLM refining the offline diagnosis: an OpenAI-compatible API base URL (the
    #: ``…/v1`` part; ``/chat/completions`` is appended), its model and key. Never required.
    ai_provider_url: str | None = None
    ai_model: str = "gpt-4o-mini"
    ai_api_key: SecretStr | None = None
    ai_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # --- IoT readings (kerops.iot) ---
    #: Readings older than this many days (by device time) are deleted by the retention job.
    iot_retention_days: int = Field(default=400, ge=1)
    #: Most readings accepted in one batch (HTTP request or MQTT message).
    iot_max_batch: int = Field(default=5000, ge=1)
    #: Largest accepted batch body in bytes.
    iot_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    #: A reading may carry a device time at most this far ahead of our clock ...
    iot_max_future_seconds: int = Field(default=300, ge=0)
    #: ... and at most this far behind it (devices buffering while offline).
    iot_max_past_days: int = Field(default=30, ge=1)
    #: MQTT broker to take readings from (``mqtt://host:1883``, ``mqtts://``); unset: HTTP only.
    mqtt_url: str | None = None
    #: Readings topic filter; ``+`` stands for the device's credential prefix.
    mqtt_topic: str = "kerops/devices/+/readings"
    #: Shared-subscription group, so several processes split the messages (empty: none); not
    #: used with a client id (Mosquitto does not restore shared subscriptions after a restart).
    mqtt_shared_group: str = "kerops"
    #: A fixed client id: a persistent session with a plain subscription, whose queued QoS 1
    #: messages the broker keeps across its restarts. One process per id (``kerops mqtt``).
    mqtt_client_id: str | None = Field(default=None, max_length=64)

    @field_validator("mqtt_client_id")
    @classmethod
    def _blank_client_id_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("speedups_off", mode="before")
    @classmethod
    def _split_speedups(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(
                    f"{origin!r} is not an origin (scheme://host[:port], no path or slash)"
                )
        return value

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        return normalise_database_url(value) if value else None

    @property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL: the configured one, or a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kerops.sqlite3').resolve()}"

    @property
    def resolved_migration_database_url(self) -> str:
        """The URL the migrations connect with: the owner's, else the service's."""
        return self.migration_database_url or self.resolved_database_url

    @property
    def files_dir(self) -> Path:
        """Folder of the local storage backend (default: ``data_dir/files``)."""
        return self.storage_local_dir or self.data_dir / "files"

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        """The public base of every link the product writes (``public_url``, else where the
        service listens)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def resolved_secret_key(self) -> str:
        """The signing secret: configured, or generated once and kept in the data folder."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


def normalise_database_url(url: str) -> str:
    """Pick the async driver for a plain ``postgresql://`` or ``sqlite://`` URL."""
    for prefix in (
        "postgresql://",
        "postgres://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests build their own and pass them to ``create_app``)."""
    return Settings()
