"""The options of ``qpi serve`` (``config.md`` §2.1 to §2.3), also read by ``qpi db migrate`` and
``qpi admin create-superuser`` (§4).

This module holds the server's own options (addresses, TLS, storage, logging); the limits and the
job, driver, account and booking policies follow them, from :mod:`qpi.config.policy_options`.
"""

from __future__ import annotations

from pathlib import Path

from qpi.config import validators as val
from qpi.config.oauth2 import parse_providers
from qpi.config.policy_options import POLICY_OPTIONS, MiB
from qpi.config.spec import (
    OptionSpec,
    boolean,
    duration,
    enum,
    integer,
    json_value,
    number,
    option,
    path,
    text,
    text_list,
)

__all__ = ["DB_COMMAND_KEYS", "LOG_FORMATS", "LOG_LEVELS", "SERVE_OPTIONS", "TABLE_NAME_KEYS", "MiB"]

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")


def _table(key: str, default: str, what: str) -> OptionSpec:
    flag = "--" + key.replace("_", "-")
    env = "QPI_" + key.upper()
    return option(key, flag, env, text(val.parse_table_name, "NAME"), default, f"Table name for {what}.", upstream=True)


_SEED = [
    option(
        "config_file",
        "--config-file",
        "QPI_CONFIG_FILE",
        path(),
        Path("qpi.config.yml"),
        "Server config file (YAML, JSON or TOML); a missing default file is skipped.",
        in_file=False,
    ),
    option(
        "domain",
        "--domain",
        "QPI_DOMAIN",
        text(val.parse_hostname, "NAME"),
        None,
        "DNS name of the server: CN and SAN of the server certificate; host of the default --public-url.",
        upstream=True,
    ),
    option(
        "server_port",
        "--server-port",
        "QPI_SERVER_PORT",
        integer(1, 65535, "PORT"),
        8090,
        "Port of the HTTP server (API, dashboard, event streams, /metrics).",
        upstream=True,
    ),
    option(
        "tls_ca_cert_file",
        "--tls-ca-cert-file",
        "QPI_TLS_CA_CERT_FILE",
        path(),
        Path(".qpi.ca.pem"),
        "Root CA certificate (PEM); generated with its key when both are absent. Relative to --data-dir.",
        upstream=True,
    ),
    option(
        "tls_ca_key_file",
        "--tls-ca-key-file",
        "QPI_TLS_CA_KEY_FILE",
        path(),
        Path(".qpi.ca.key"),
        "CA private key (PKCS#8 PEM, mode 0600). Relative to --data-dir.",
        upstream=True,
    ),
    option(
        "tls_cert_file",
        "--tls-cert-file",
        "QPI_TLS_CERT_FILE",
        path(),
        Path(".qpi.cert.pem"),
        "Server certificate signed by the CA, reissued when needed. Relative to --data-dir.",
        upstream=True,
    ),
    option(
        "tls_key_file",
        "--tls-key-file",
        "QPI_TLS_KEY_FILE",
        path(),
        Path(".qpi.key"),
        "Server certificate key (mode 0600). Relative to --data-dir.",
        upstream=True,
    ),
    _table("qpus_collection", "qpus", "QPUs"),
    _table("timeslots_collection", "time_slots", "bookings"),
    _table("jobs_collection", "quantum_jobs", "jobs"),
    _table("api_tokens_collection", "api_tokens", "API tokens"),
    _table("notifications_collection", "notifications", "notifications"),
    _table("qpu_time_requests_collection", "qpu_time_requests", "time requests"),
    option(
        "idle_threshold",
        "--idle-threshold",
        "QPI_IDLE_THRESHOLD",
        duration(),
        5.0,
        "How long a booking holder must have had nothing pending or running before others' jobs may run "
        "inside the booking.",
        upstream=True,
    ),
    option(
        "recovery_interval",
        "--recovery-interval",
        "QPI_RECOVERY_INTERVAL",
        duration(above=True),
        10.0,
        "Period of the recovery sweep (silent drivers, timed-out attempts, expired sessions).",
        upstream=True,
    ),
    option(
        "job_timeout",
        "--job-timeout",
        "QPI_JOB_TIMEOUT",
        duration(above=True),
        300.0,
        "Longest execution of one attempt (per-QPU override).",
        upstream=True,
    ),
    option(
        "dispatch_poll_interval",
        "--dispatch-poll-interval",
        "QPI_DISPATCH_POLL_INTERVAL",
        duration(above=True),
        5.0,
        "Safety-net rescan period of the queues (dispatch is event-driven).",
        upstream=True,
    ),
    option(
        "port_range_start",
        "--port-range-start",
        "QPI_PORT_RANGE_START",
        integer(1, 65535, "PORT"),
        6000,
        "First NNG port; each driver holds one.",
        upstream=True,
    ),
    option(
        "port_range_end",
        "--port-range-end",
        "QPI_PORT_RANGE_END",
        integer(2, 65536, "PORT"),
        7000,
        "End of the NNG port range (exclusive); must exceed --port-range-start.",
        upstream=True,
    ),
    option(
        "disable_email_password_auth",
        "--disable-email-password-auth",
        "QPI_DISABLE_EMAIL_PASSWORD_AUTH",
        boolean(),
        False,
        "Turn off e-mail/password login (API tokens and OAuth2 still work).",
        upstream=True,
    ),
    option(
        "oauth2_providers",
        "--oauth2-providers",
        "QPI_OAUTH2_PROVIDERS",
        json_value(parse_providers),
        (),
        "OAuth2 providers, a JSON list of {name, clientId, clientSecret, authURL, tokenURL, userInfoURL, "
        "displayName, pkce, extra}; entries replace file entries with the same name.",
        upstream=True,
        secret=True,
        default_text="none",
    ),
]

_UPSTREAM = [
    option(
        "ip_addr",
        "--ip-addr",
        "QPI_IP_ADDR",
        text(val.parse_ip, "IP"),
        "127.0.0.1",
        "Address drivers dial for NNG; always a SAN of the server certificate.",
        upstream=True,
    ),
    option(
        "events_retention",
        "--events-retention",
        "QPI_EVENTS_RETENTION",
        duration(),
        720 * 3600.0,
        "Keep events this long; 0 = forever.",
        upstream=True,
    ),
    option(
        "events_prune_interval",
        "--events-prune-interval",
        "QPI_EVENTS_PRUNE_INTERVAL",
        duration(above=True),
        3600.0,
        "Period of event pruning.",
        upstream=True,
    ),
    option(
        "event_rate_limit",
        "--event-rate-limit",
        "QPI_EVENT_RATE_LIMIT",
        number(0),
        100.0,
        "Progress, cryostat and telemetry messages per second per driver; 0 = off.",
        upstream=True,
    ),
    _table("drivers_collection", "drivers", "drivers"),
    _table("events_collection", "events", "events"),
    _table("themes_collection", "themes", "themes"),
]

_NEW = [
    option(
        "host",
        "--host",
        "QPI_HOST",
        text(val.parse_hostname, "HOST"),
        None,
        "Bind address of the HTTP server and the NNG listeners.",
        default_text="0.0.0.0 (127.0.0.1 with --local-qpu)",
    ),
    option(
        "public_url",
        "--public-url",
        "QPI_PUBLIC_URL",
        text(val.parse_base_url, "URL"),
        None,
        "External base URL: driver snippets, printed links, the cookie Secure decision.",
        default_text="<scheme>://<domain, else ip-addr>:<server-port>",
    ),
    option("https", "--https", "QPI_HTTPS", boolean(), False, "Serve HTTP over TLS with the server certificate."),
    option(
        "trusted_proxies",
        "--trusted-proxies",
        "QPI_TRUSTED_PROXIES",
        text_list(val.parse_cidr, "CIDR"),
        (),
        "CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed (repeatable).",
        default_text="none",
    ),
    option(
        "cors_origins",
        "--cors-origins",
        "QPI_CORS_ORIGINS",
        text_list(val.parse_origin, "ORIGIN"),
        (),
        "Extra browser origins allowed by CORS and the CSRF origin check (repeatable).",
        default_text="none",
    ),
    option(
        "data_dir",
        "--data-dir",
        "QPI_DATA_DIR",
        path("DIR"),
        Path("qpi-data"),
        "Directory (mode 0700) of the SQLite database, TLS files and local-mode state.",
        default_text="./qpi-data",
    ),
    option(
        "database_url",
        "--database-url",
        "QPI_DATABASE_URL",
        text(val.parse_database_url, "URL"),
        None,
        "sqlite:///relative/file, sqlite:////absolute/file or postgresql://user:pass@host:5432/db.",
        secret=True,
        default_text="sqlite:///<data-dir>/qpi.sqlite3",
    ),
    option("db_pool_size", "--db-pool-size", "QPI_DB_POOL_SIZE", integer(1), 10, "PostgreSQL connections per replica."),
    option(
        "auto_migrate",
        "--auto-migrate",
        "QPI_AUTO_MIGRATE",
        boolean(),
        True,
        "Apply pending migrations at start; when off, refuse to start until `qpi db migrate` has run.",
    ),
    option("log_level", "--log-level", "QPI_LOG_LEVEL", enum(LOG_LEVELS), "info", "Log level."),
    option(
        "log_format",
        "--log-format",
        "QPI_LOG_FORMAT",
        enum(LOG_FORMATS),
        "text",
        "Log format: text, or json (one object per line).",
    ),
    option("metrics", "--metrics", "QPI_METRICS", boolean(), True, "Serve /metrics."),
    option(
        "metrics_token",
        "--metrics-token",
        "QPI_METRICS_TOKEN",
        text(),
        None,
        "When set, /metrics needs Authorization: Bearer <token>.",
        secret=True,
    ),
    option(
        "shutdown_timeout",
        "--shutdown-timeout",
        "QPI_SHUTDOWN_TIMEOUT",
        duration(),
        30.0,
        "On SIGTERM/SIGINT, time to finish requests and close streams and links.",
    ),
]

#: Every option of ``qpi serve``, in the order of ``config.md``.
SERVE_OPTIONS: tuple[OptionSpec, ...] = (*_SEED, *_UPSTREAM, *_NEW, *POLICY_OPTIONS)

#: The nine table-name options.
TABLE_NAME_KEYS: tuple[str, ...] = tuple(s.key for s in SERVE_OPTIONS if s.key.endswith("_collection"))

#: Options offered on the command line of ``qpi db migrate`` and ``qpi admin create-superuser``.
DB_COMMAND_KEYS: tuple[str, ...] = ("config_file", "data_dir", "database_url", *TABLE_NAME_KEYS)
