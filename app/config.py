"""Settings: one object, read from the environment (prefix ``MINQING_``) and ``DATABASE_URL``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINQING_", extra="ignore", env_file=None)

    env: Literal["dev", "test", "prod"] = "dev"

    # Database. Without DATABASE_URL the CLI starts an embedded PostgreSQL in ``pg_data_dir``.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "MINQING_DATABASE_URL")
    )
    pg_data_dir: Path = Path("var/pg")
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=5, ge=0, le=500)
    db_read_pool_size: int = Field(
        default=10, ge=1, le=500, description="connections per process for the one-statement hot reads"
    )
    db_pool_timeout: float = Field(default=5.0, gt=0, description="seconds to wait for a pooled connection")
    db_connect_timeout: float = Field(default=3.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    db_echo: bool = False
    # Scaling past one machine: hot standbys for the reads that tolerate a bounded lag, a pooler in
    # front of PostgreSQL, and a direct connection for what a pooler cannot carry.
    database_replica_urls: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="hot standbys for stats, lists, exports, the sync feed and Open311 reads (comma-separated)",
    )
    database_replica_max_lag_seconds: float = Field(
        default=5.0, gt=0, description="a replica further behind the primary than this is not read from"
    )
    database_replica_probe_seconds: float = Field(
        default=1.0,
        gt=0,
        description="how often each process measures the replicas' lag (and finds a stopped one back)",
    )
    database_replica_sticky_seconds: int = Field(
        default=60, ge=1, description="lifetime of the read-your-writes cookie set after a write"
    )
    database_direct_url: str | None = Field(
        default=None, description="PostgreSQL itself, not a pooler: LISTEN/NOTIFY, migrations, maintenance"
    )
    db_pooler: Literal["none", "pgbouncer"] = Field(
        default="none", description="pgbouncer: transaction pooling (no statement cache, no startup settings)"
    )
    database_statement_cache: int = Field(
        default=100, ge=0, le=10_000, description="prepared statements cached per connection (0: none)"
    )

    # Auth
    jwt_secret: SecretStr = SecretStr("")
    jwt_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    jwt_issuer: str = "minqing"
    login_max_failures: int = Field(default=5, ge=1, description="failures per username or address per window")
    login_window_seconds: int = Field(default=300, ge=1)

    # Requests
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1_048_576, ge=1024)
    attachments_dir: Path = Path("var/attachments")
    # Where attachments' bytes live: unset, the local directory above; or file:///dir, or s3://bucket[/prefix]
    # with the s3_* settings below (any S3-compatible server: MinIO, SeaweedFS, Ceph RGW, a cloud's OSS/COS/S3).
    storage_url: str = Field(default="", pattern=r"^$|^(file|s3)://")
    s3_endpoint_url: str | None = Field(default=None, description="e.g. http://minio.internal:9000; unset: AWS")
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    # Downloads: "proxy" streams the file through the API (works where phones cannot reach the store);
    # "redirect" answers 307 to a presigned URL valid this many seconds (S3 only; local files are proxied).
    storage_download: Literal["proxy", "redirect"] = "proxy"
    storage_presign_seconds: int = Field(default=60, ge=1, le=3600)
    cors_origins: list[str] = []

    # Domain
    timezone: str = "Asia/Shanghai"
    holiday_calendar_file: Path | None = None
    area_containment_tolerance: float = Field(
        default=0.01, ge=0, le=1, description="share of a child's area allowed outside its parent"
    )

    commitments_per_list: int = Field(default=10, ge=1, le=50, description="items of a 一年10件实事 list")

    # Personal data (residents' archive): AES-GCM key and HMAC blind-index key, base64 32 bytes.
    data_key: SecretStr = SecretStr("")
    blind_index_key: SecretStr = SecretStr("")
    previous_data_keys: list[SecretStr] = Field(default=[], description="retired data keys, still used to decrypt")
    # 走访 schedule: days between visits per resident tag (the shortest applicable interval wins).
    visit_interval_days: dict[str, int] = {
        "elderly_alone": 30,
        "empty_nest": 30,
        "disabled": 30,
        "low_income": 90,
        "left_behind_child": 30,
        "veteran": 180,
    }

    # Offline sync: how long the change feed keeps changes; older cursors must do a full sync.
    change_retention_days: int = Field(default=30, ge=1)

    # Housekeeping (``minqing worker``, or the API process with run_worker_in_process): how long each
    # table keeps its rows, and how often the purges run (0: never; ``minqing purge`` runs them once).
    housekeeping_interval_seconds: float = Field(default=3600.0, ge=0)
    idempotency_retention_days: int = Field(
        default=30, ge=30, description="Idempotency-Key replays (stored responses) are guaranteed this long"
    )
    rate_limit_retention_hours: int = Field(default=24, ge=1, description="ended rate-limit windows")
    login_failure_retention_hours: int = Field(default=24, ge=1, description="sign-in failure counters")
    outbox_retention_days: int = Field(default=7, ge=1, description="outbox messages already fanned out")
    webhook_delivery_retention_days: int = Field(
        default=30, ge=1, description="delivered, dead and cancelled deliveries (and their attempts)"
    )
    # Partitioned history (app/kit/partitions.py): partitions made ahead of time, and how long those
    # without a retention above keep theirs (a partition goes whole once its end is past retention;
    # 0 keeps them for good). The change feed, the outbox and webhook attempts use the settings above.
    partition_days_ahead: int = Field(default=7, ge=1, description="daily partitions made ahead")
    partition_months_ahead: int = Field(default=3, ge=1, description="monthly partitions made ahead")
    audit_retention_months: int = Field(default=72, ge=0, description="audit log; 0: kept for good")
    hotline_message_retention_months: int = Field(
        default=12, ge=1, description="inbound hotline messages (a retry older than this is taken as new)"
    )
    issue_event_retention_months: int = Field(
        default=0, ge=0, description="issue timelines; 0 (default): kept as long as their issues"
    )
    # The worker's healthcheck (``minqing worker --check``).
    worker_heartbeat_file: Path = Path("var/worker-heartbeat.json")
    worker_heartbeat_max_age_seconds: float = Field(default=60.0, gt=0)

    # Stats and the live event stream
    stats_compact_seconds: float = Field(default=60.0, ge=0, description="0: only `minqing stats compact`")
    stats_max_age_seconds: int = Field(default=30, ge=0, description="Cache-Control max-age of /api/v1/stats")
    sse_max_connections: int = Field(default=200, ge=1, description="event streams per server process")
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    sse_retry_after_seconds: int = Field(default=10, ge=1)

    # Integrations
    webhook_allowlist: list[str] = []
    webhook_allow_private: bool = False
    webhook_allow_loopback: bool = False
    run_worker_in_process: bool = True
    # Requests per minute: public reads (Open311) and public writes (Open311 POST, feedback links)
    # per client address; integration pushes (12345 hotline) per API key.
    rate_limit_public_reads: int = Field(default=600, ge=1)
    rate_limit_public_writes: int = Field(default=30, ge=1)
    rate_limit_integration: int = Field(default=1200, ge=1)
    # Requests per minute per client address on the public wish wall (JSON and page together).
    rate_limit_wish_wall: int = Field(default=120, ge=1)
    # Seconds a process keeps a public notice's ETag (0: read it for every request). A change
    # reaches every process at once through a notification; this bounds the rest (a lost
    # listening connection is noticed, a lagging read replica is not).
    public_notice_tag_seconds: float = Field(default=2.0, ge=0, le=60)

    # Observability
    log_level: str = "INFO"
    log_json: bool = True
    access_log: bool = True

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def direct_database_url(self) -> str | None:
        """Where LISTEN, migrations and session-level work go: PostgreSQL itself, never a pooler."""
        return self.database_direct_url or self.database_url

    @property
    def statement_cache_size(self) -> int:
        """Prepared statements per connection: none behind a transaction-pooling PgBouncer."""
        return 0 if self.db_pooler == "pgbouncer" else self.database_statement_cache

    def require_jwt_secret(self) -> str:
        secret = self.jwt_secret.get_secret_value()
        if not secret:
            raise RuntimeError("MINQING_JWT_SECRET is not set")
        return secret


@lru_cache
def get_settings() -> Settings:
    return Settings()


async def get_app_settings(request: Request) -> Settings:
    """The settings the running application was built with (a request's dependency)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
