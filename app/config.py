"""Service settings, read from the environment once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.feed_rules import FeedConfig, parse_hours
from app.core.placeholders import RANDOM_SECRET_HINT, secret_weakness

DEFAULT_DATABASE_URL = "sqlite:///./data/tthc.db"


class Settings(BaseSettings):
    """Every setting the service reads; names are the environment variables."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL"))
    # Reads of figures and lists may go to a PostgreSQL streaming replica; writes, token checks and
    # everything that must see the newest state stay on DATABASE_URL.
    database_read_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_READ_URL"))
    admin_token: str | None = Field(None, validation_alias=AliasChoices("TTHC_ADMIN_TOKEN"))
    read_requires_token: bool = Field(False, validation_alias=AliasChoices("TTHC_READ_REQUIRES_TOKEN"))
    cors_origins: str = Field("", validation_alias=AliasChoices("TTHC_CORS_ORIGINS"))
    province_code: int = Field(40, validation_alias=AliasChoices("TTHC_PROVINCE_CODE"))
    agency_seed: str | None = Field(None, validation_alias=AliasChoices("TTHC_AGENCY_SEED"))
    # The suffix of the province's national unit codes (000.00.NN.<suffix>); the seed file's when unset.
    unit_suffix: str | None = Field(
        None, pattern=r"^[A-Z][0-9]{2}$", validation_alias=AliasChoices("TTHC_UNIT_SUFFIX")
    )
    sector_seed: str | None = Field(None, validation_alias=AliasChoices("TTHC_SECTOR_SEED"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("TTHC_LOG_LEVEL"))
    ingest_chunk_size: int = Field(20000, ge=1, le=100000, validation_alias=AliasChoices("TTHC_INGEST_CHUNK"))
    cache_seconds: int = Field(60, ge=0, validation_alias=AliasChoices("TTHC_CACHE_SECONDS"))
    # What one read may cost.
    metrics_max_rows: int = Field(100_000, ge=1, validation_alias=AliasChoices("TTHC_METRICS_MAX_ROWS"))
    read_timeout: float = Field(30.0, gt=0, le=3600, validation_alias=AliasChoices("TTHC_READ_TIMEOUT"))
    heavy_reads: int = Field(1, ge=1, le=64, validation_alias=AliasChoices("TTHC_HEAVY_READS"))
    heavy_read_rows: int = Field(10_000, ge=1, validation_alias=AliasChoices("TTHC_HEAVY_READ_ROWS"))
    heavy_read_wait: float = Field(2.0, ge=0, le=60, validation_alias=AliasChoices("TTHC_HEAVY_READ_WAIT"))
    cache_bytes: int = Field(64 * 1024 * 1024, ge=0, validation_alias=AliasChoices("TTHC_CACHE_BYTES"))
    cache_max_body: int = Field(8 * 1024 * 1024, ge=0, validation_alias=AliasChoices("TTHC_CACHE_MAX_BODY"))
    # How long the audit trail is kept.
    audit_retention_days: int = Field(
        365, ge=0, le=36500, validation_alias=AliasChoices("TTHC_AUDIT_RETENTION_DAYS")
    )  # audit_log rows and refused-request counts older than this go; 0 keeps them forever
    # The quality of the feed (docs/API.md, "The quality of the feed"): how long its counts are kept, the
    # local working hours a resolution is judged against, the share of a unit's resolutions outside
    # them (or on days off) above which the unit is flagged, and the latest codes kept per reason.
    feed_quality_days: int = Field(90, ge=1, le=3660, validation_alias=AliasChoices("TTHC_FEED_QUALITY_DAYS"))
    feed_quality_hours: str = Field(
        "07:30-17:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$",
        validation_alias=AliasChoices("TTHC_FEED_QUALITY_HOURS"),
    )
    feed_quality_share: float = Field(
        0.1, ge=0, le=1, validation_alias=AliasChoices("TTHC_FEED_QUALITY_SHARE")
    )
    feed_quality_examples: int = Field(
        10, ge=1, le=100, validation_alias=AliasChoices("TTHC_FEED_QUALITY_EXAMPLES")
    )
    # How ingestion bounds its memory and waits for a slow client.
    ingest_chunk_bytes: int = Field(
        16 * 1024 * 1024, ge=1, validation_alias=AliasChoices("TTHC_INGEST_CHUNK_BYTES")
    )
    upload_idle_timeout: float = Field(30.0, gt=0, validation_alias=AliasChoices("TTHC_UPLOAD_IDLE_TIMEOUT"))
    # Pools, probes, request heads and shutdown of a server process.
    read_pool_size: int = Field(8, ge=1, le=200, validation_alias=AliasChoices("TTHC_READ_POOL_SIZE"))
    write_pool_size: int = Field(8, ge=1, le=200, validation_alias=AliasChoices("TTHC_WRITE_POOL_SIZE"))
    pool_timeout: float = Field(5.0, gt=0, le=300, validation_alias=AliasChoices("TTHC_POOL_TIMEOUT"))
    ready_timeout: float = Field(2.0, gt=0, le=60, validation_alias=AliasChoices("TTHC_READY_TIMEOUT"))
    shutdown_grace: int = Field(10, ge=0, le=600, validation_alias=AliasChoices("TTHC_SHUTDOWN_GRACE"))
    max_header_bytes: int = Field(
        65536, ge=4096, le=16 * 1024 * 1024, validation_alias=AliasChoices("TTHC_MAX_HEADER_BYTES")
    )
    # Monitoring: /metrics behind a read token, and the log lines' format (docs/MONITORING.md).
    metrics_require_token: bool = Field(False, validation_alias=AliasChoices("TTHC_METRICS_REQUIRE_TOKEN"))
    log_format: Literal["json", "text"] = Field("json", validation_alias=AliasChoices("TTHC_LOG_FORMAT"))
    # The periodic report's XLSX as the form is filed (docs/REPORTS.md, "The form"): who reports, to whom,
    # where it is signed and by whom. A single agency's own report (unit=sector with one `agency`) is
    # reported by that agency to `report_reporting_unit`, and leaves the signers' names blank.
    report_reporting_unit: str = Field(
        "Văn phòng Ủy ban nhân dân tỉnh Nghệ An",
        min_length=1,
        max_length=200,
        validation_alias=AliasChoices("TTHC_REPORT_REPORTING_UNIT"),
    )
    report_receiving_unit: str = Field(
        "Văn phòng Chính phủ",
        min_length=1,
        max_length=200,
        validation_alias=AliasChoices("TTHC_REPORT_RECEIVING_UNIT"),
    )
    report_place: str = Field(
        "Nghệ An", min_length=1, max_length=100, validation_alias=AliasChoices("TTHC_REPORT_PLACE")
    )
    report_preparer: str | None = Field(
        None, max_length=100, validation_alias=AliasChoices("TTHC_REPORT_PREPARER")
    )
    report_head: str | None = Field(None, max_length=100, validation_alias=AliasChoices("TTHC_REPORT_HEAD"))

    # Early warning (docs/API.md, "Webhooks (early warning)"): the daily digest, its deliveries and
    # the one job runner that sends them and prunes old rows.
    webhook_digest_time: str = Field(
        "07:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        validation_alias=AliasChoices("TTHC_WEBHOOK_DIGEST_TIME"),
    )  # the local (Vietnam) time of day at which each subscription's digest is queued
    webhook_allowed_hosts: str = Field("", validation_alias=AliasChoices("TTHC_WEBHOOK_ALLOWED_HOSTS"))
    webhook_max_attempts: int = Field(
        8, ge=1, le=20, validation_alias=AliasChoices("TTHC_WEBHOOK_MAX_ATTEMPTS")
    )
    webhook_retry_seconds: float = Field(
        60.0, gt=0, le=86400, validation_alias=AliasChoices("TTHC_WEBHOOK_RETRY_SECONDS")
    )
    webhook_timeout: float = Field(10.0, gt=0, le=120, validation_alias=AliasChoices("TTHC_WEBHOOK_TIMEOUT"))
    webhook_max_items: int = Field(
        1000, ge=1, le=100_000, validation_alias=AliasChoices("TTHC_WEBHOOK_MAX_ITEMS")
    )
    webhook_retention_days: int = Field(
        90, ge=1, le=36500, validation_alias=AliasChoices("TTHC_WEBHOOK_RETENTION_DAYS")
    )
    jobs_in_server: bool = Field(True, validation_alias=AliasChoices("TTHC_JOBS_IN_SERVER"))
    jobs_interval: float = Field(60.0, gt=0, le=3600, validation_alias=AliasChoices("TTHC_JOBS_INTERVAL"))

    # The addresses (comma-separated IPs or networks, `*` for any) whose X-Forwarded-For and
    # X-Forwarded-Proto the server believes: the reverse proxy's.
    forwarded_allow_ips: str = Field(
        "127.0.0.1", min_length=1, validation_alias=AliasChoices("TTHC_FORWARDED_ALLOW_IPS")
    )

    @field_validator("admin_token")
    @classmethod
    def _refuse_weak_admin_token(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        weakness = secret_weakness(value)
        if weakness is not None:
            # The value itself is never repeated in the message: it is a secret, however weak.
            raise ValueError(f"it {weakness}; {RANDOM_SECRET_HINT}")
        return value

    @field_validator("feed_quality_hours")
    @classmethod
    def _hours_in_order(cls, value: str) -> str:
        start, end = value.split("-")
        if start >= end:
            raise ValueError("the working hours' start must be before their end (HH:MM-HH:MM)")
        return value

    @property
    def feed_config(self) -> FeedConfig:
        """What ingest needs of the feed's quality settings."""
        return FeedConfig(parse_hours(self.feed_quality_hours), self.feed_quality_examples)

    @property
    def webhook_allowed_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process's settings (cached; tests build their own Settings instead)."""
    return Settings()
