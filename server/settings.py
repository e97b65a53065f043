"""Server settings, validated once at start (pydantic-settings; no import-time globals).

Read from the environment (``BRANCHSYNC_*``, plus plain ``DATABASE_URL``) and from
command-line flags, which the CLI passes in as keyword arguments.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """Where the embedded database and server state live when no directory is given."""
    return Path(platformdirs.user_data_dir("branchsync-server", appauthor=False))


class Settings(BaseSettings):
    """Everything the server can be configured with."""

    model_config = SettingsConfigDict(env_prefix="BRANCHSYNC_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "BRANCHSYNC_DATABASE_URL")
    )
    """libpq URL of an external PostgreSQL; None starts the embedded one under ``data_dir``."""
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    max_clock_skew_s: float = Field(default=300.0, gt=0)
    """Mutations stamped further ahead of the server clock are rejected ``clock_skew``."""
    enroll_code_ttl_hours: float = Field(default=7 * 24, gt=0)
    rate_per_s: float = Field(default=100.0, gt=0)
    """Sustained requests per second one device may make."""
    rate_burst: int = Field(default=50, ge=1)
    auth_failures_per_min: float = Field(default=30, gt=0)
    """Failed token checks one network address may make per minute (bursts of
    ``auth_failure_burst``) before its token checks are answered 429 without a lookup."""
    auth_failure_burst: int = Field(default=20, ge=1)
    enroll_rate_per_min: float = Field(default=60, gt=0)
    """Enrolment attempts per minute from one network address (codes carry 100 random bits,
    so this guards the database against a flood, not the codes against guessing)."""
    enroll_burst: int = Field(default=30, ge=1)
    """Attempts one address may make at once: a whole office rolling out at 9:00 behind one NAT."""
    ws_queue_frames: int = Field(default=256, ge=1)
    """Frames a socket may fall behind before it gets ``resync`` and is closed."""
    ws_client_frames_per_s: float = Field(default=10.0, gt=0)
    """Sustained frames per second one device may send over its sockets (an engine sends a
    ``status`` at most every 5 s); a device going faster has the socket closed 1008."""
    ws_client_frame_burst: int = Field(default=100, ge=1)
    """Frames one device may send at once before ``ws_client_frames_per_s`` applies."""
    ws_sockets_per_device: int = Field(default=4, ge=1)
    """Sockets one device may hold on one server process; a newer one closes its oldest
    (close 4409). An engine holds one; the rest is room for sockets not yet timed out."""
    ws_client_frame_bytes: int = Field(default=64 * 1024, ge=256)
    """Largest frame a client may send (a ``status`` frame is ~100 bytes); a larger one closes
    the socket 1008."""
    request_read_timeout_s: float = Field(default=30.0, gt=0)
    """A request's line and headers must arrive within this of its first byte (else 408), and
    its body may not pause longer than this between reads (else the connection closes)."""
    ws_send_buffer_bytes: int = Field(default=64 * 1024, ge=4096)
    """Kernel send buffer of each socket (Linux doubles it): a reader that falls behind fills
    it quickly, so its backlog waits in the bounded queue and is answered ``resync``."""
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1)
    """Connections the API keeps open to PostgreSQL (pushes, pulls, the socket handshake)."""
    db_max_overflow: int = Field(default=0, ge=0)
    """Connections the API may open beyond ``db_pool_size`` at a peak (each is closed again
    when returned, so any overflow means connection churn: raise the pool size instead)."""
    db_pool_timeout_s: float = Field(default=2.0, gt=0)
    """How long a request waits for a pooled connection before it is answered 503 ``overloaded``."""
    db_start_wait_s: float = Field(default=300, ge=0)
    """How long ``serve`` waits at start for a PostgreSQL that cannot be reached yet
    (restarting, failing over, still booting) before it gives up; 0: do not wait."""
    db_background_pool_size: int = Field(default=3, ge=2)
    """Connections of the background work (fan-out reads, presence, housekeeping, backups,
    device status, ``/metrics``), kept apart so it can never take a push's connection."""
    db_prepared_statements: bool = True
    """asyncpg's prepared-statement cache; turn it off behind PgBouncer in transaction mode."""
    listen_database_url: str | None = None
    """libpq URL of the LISTEN connection (and the background pool) when ``DATABASE_URL``
    goes through a transaction-pooling PgBouncer, which cannot LISTEN; None: ``DATABASE_URL``."""

    snapshot_enabled: bool = True
    """Whether ``GET /api/v1/sync/snapshot`` serves a new device every row in one stream; off, it
    answers 404 (as an older server does) and new devices pull page by page from 0."""

    # operations (server.ops.backup_scheduler, server.realtime.presence, server.ops.admin_web, /metrics)
    backup_enabled: bool | None = None
    """Automatic backups while serving; None: on for the embedded database only."""
    backup_interval_s: float = Field(default=6 * 3600, gt=0)
    backup_retry_s: float = Field(default=15 * 60, gt=0)
    """A failed automatic backup is tried again this much later (at most the interval)."""
    backup_keep: int = Field(default=28, ge=1)
    backup_dir: Path | None = None
    """Where backups go; None: ``data_dir/backups``."""
    pg_bin_dir: Path | None = None
    """Folder of pg_dump/pg_restore/psql; None: the embedded PostgreSQL's, then PATH."""
    admin_session_hours: float = Field(default=12, gt=0)
    presence_interval_s: float = Field(default=15, gt=0)
    """How often each process tells the others which devices hold its sockets."""
    status_flush_interval_s: float = Field(default=2, gt=0)
    """How often each process writes the devices' latest ``status`` frames (one statement
    for all of them, on a connection of its own); monitors see them this much later at most."""
    record_keep_days: float = Field(default=90, gt=0)
    """How long the answers to applied mutations (for idempotent replay) and refused mutations
    (for the dashboard) are kept. A replay older than this is merged again, which changes nothing."""
    housekeeping_interval_s: float = Field(default=3600, gt=0)
    tombstone_clear_after_days: float = Field(default=30, gt=0)
    """How long a deleted row keeps its values (a later edit or a restore brings them back);
    after that housekeeping clears them and the row stays a small tombstone for good."""
    metrics_token: SecretStr | None = None
    """When set, ``/metrics`` wants ``Authorization: Bearer <metrics_token>``."""

    @property
    def backups_on(self) -> bool:
        """Whether ``serve`` makes automatic backups."""
        return self.database_url is None if self.backup_enabled is None else self.backup_enabled

    @property
    def backups_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @field_validator("database_url", "listen_database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        return value.strip()
