"""The frozen, typed configuration objects, one per process kind.

Durations are float seconds, sizes int bytes, paths absolute :class:`~pathlib.Path` objects.
Field names are the option keys of the tables in :mod:`qpi.config.serve_options`,
:mod:`qpi.config.driver_options` and :mod:`qpi.config.client_options`. They are built by
:func:`qpi.config.load_config`; build them directly only in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from qpi.config.oauth2 import OAuth2Provider

__all__ = ["ClientConfig", "DriverConfig", "ServeConfig"]


@dataclass(frozen=True)
class ServeConfig:
    """``qpi serve`` (and ``qpi db migrate``, ``qpi admin create-superuser``)."""

    config_file: Path | None
    domain: str | None
    server_port: int
    tls_ca_cert_file: Path
    tls_ca_key_file: Path
    tls_cert_file: Path
    tls_key_file: Path
    qpus_collection: str
    timeslots_collection: str
    jobs_collection: str
    api_tokens_collection: str
    notifications_collection: str
    qpu_time_requests_collection: str
    idle_threshold: float
    recovery_interval: float
    job_timeout: float
    dispatch_poll_interval: float
    port_range_start: int
    port_range_end: int
    disable_email_password_auth: bool
    oauth2_providers: tuple[OAuth2Provider, ...]
    ip_addr: str
    events_retention: float
    events_prune_interval: float
    event_rate_limit: float
    drivers_collection: str
    events_collection: str
    themes_collection: str
    host: str
    public_url: str
    https: bool
    trusted_proxies: tuple[str, ...]
    cors_origins: tuple[str, ...]
    data_dir: Path
    database_url: str = field(repr=False)
    db_pool_size: int
    auto_migrate: bool
    log_level: str
    log_format: str
    metrics: bool
    metrics_token: str | None = field(repr=False)
    shutdown_timeout: float
    max_body_size: int
    max_message_size: int
    max_shots: int
    max_circuits_per_job: int
    max_pending_jobs_per_user: int
    max_tokens_per_user: int
    rate_limit: float
    submit_rate_limit: float
    login_rate_limit: int
    sse_max_streams: int
    sse_keepalive: float
    heartbeat_interval: float
    heartbeat_misses: int
    job_timeout_grace: float
    job_queue_ttl: float
    max_attempts: int
    on_driver_loss: str
    driver_cert_ttl: float
    session_ttl: float
    idempotency_ttl: float
    default_qpu_seconds: float
    booking_min_duration: float
    booking_max_duration: float
    booking_horizon: float
    booking_max_upcoming: int
    time_request_max_pending: int
    local_qpu: str | None
    local_qpu_name: str
    local_qpu_workers: int

    @property
    def table_names(self) -> dict[str, str]:
        """The nine table-name options, by key (recorded in the database at first migration)."""
        from qpi.config.serve_options import TABLE_NAME_KEYS

        return {key: getattr(self, key) for key in TABLE_NAME_KEYS}

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when ``database_url`` is SQLite (always absolute), else None."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        return Path(self.database_url.removeprefix("sqlite:///"))


@dataclass(frozen=True)
class DriverConfig:
    """``qpi driver start`` (and ``qpi driver install-systemd``)."""

    config_file: Path | None
    qpi_addr: str
    token: str = field(repr=False)
    ca_fingerprint: str
    ca_file: Path
    name: str
    executor: str
    data_dir: Path
    is_dummy: bool
    quantify_hardware_config: Path
    quantify_device_config: Path
    job_timeout: float | None
    options: dict[str, str]
    workers: int
    reconnect_min: float
    reconnect_max: float
    key_file: Path
    outbox_dir: Path
    max_message_size: int
    shutdown_grace: float
    allow_insecure_http: bool
    log_level: str
    log_format: str


@dataclass(frozen=True)
class ClientConfig:
    """``qpi submit``, ``qpi jobs …`` and ``qpi.client``.

    ``client_config`` is the client file that was read (None when there was none);
    ``config_dir`` the per-user directory it defaults to.
    """

    client_config: Path | None
    config_dir: Path
    profile: str
    addr: str
    api_token: str | None = field(repr=False)
    ca_file: Path | None
    timeout: float
    qpu: str | None
    output: str
