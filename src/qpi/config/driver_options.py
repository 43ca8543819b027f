"""The options of ``qpi driver start`` (``config.md`` §5)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from qpi.config import validators as val
from qpi.config.serve_options import LOG_FORMATS, LOG_LEVELS, MiB
from qpi.config.spec import OptionSpec, boolean, duration, enum, integer, key_values, option, path, size, text

__all__ = ["DRIVER_OPTIONS", "HARDWARE_EXECUTORS"]

#: Executors that drive real instruments: one worker only.
HARDWARE_EXECUTORS = frozenset({"quantify", "qblox", "presto"})

DRIVER_OPTIONS: tuple[OptionSpec, ...] = (
    option(
        "config_file",
        "--config-file",
        "QPI_DRIVER_CONFIG_FILE",
        path(),
        Path("qpi-driver.config.yml"),
        "Driver config file (YAML, JSON or TOML); a missing default file is skipped.",
        in_file=False,
    ),
    option(
        "qpi_addr",
        ("-a", "--qpi-addr"),
        "QPI_ADDR",
        text(partial(val.parse_base_url, default_scheme="http"), "URL"),
        "http://127.0.0.1:8090",
        "Server base URL (http:// is added when no scheme is given).",
    ),
    option(
        "token",
        ("-t", "--token"),
        "QPI_ACCESS_TOKEN",
        text(),
        None,
        "Driver token from driver (or QPU) registration.",
        secret=True,
        required=True,
    ),
    option(
        "ca_fingerprint",
        "--ca-fingerprint",
        "QPI_CA_FINGERPRINT",
        text(val.parse_fingerprint, "HEX"),
        None,
        "SHA-256 hex of the CA certificate (DER; case and ':' ignored), checked before sending the token.",
        required=True,
    ),
    option(
        "ca_file",
        "--ca-file",
        "QPI_CA_FILE",
        path(),
        Path("bin/qpi.ca.pem"),
        "Where the verified CA certificate is written.",
        default_text="./bin/qpi.ca.pem",
    ),
    option(
        "name",
        ("-n", "--name"),
        ("QPU_NAME", "QPI_DRIVER_NAME"),
        text(metavar="NAME"),
        "qpu_sim_01",
        "Label reported at connect (the QPU is fixed by the token).",
    ),
    option(
        "executor",
        ("-e", "--executor", "--device"),
        ("DRIVER_BACKEND", "QPI_DEVICE"),
        text(val.parse_executor, "NAME"),
        "mock",
        "mock, qiskit_aer, quantify, qblox, presto, or package.module:Class.",
    ),
    option(
        "data_dir",
        ("-d", "--data-dir"),
        "QPI_DATA_DIR",
        path("DIR"),
        Path("bin/data"),
        "Experiment data, the client key and the result outbox (mode 0700).",
        default_text="./bin/data",
    ),
    option(
        "is_dummy", "--is-dummy", "QPI_IS_DUMMY", boolean(), False, "Run quantify/qblox against a dummy Qblox cluster."
    ),
    option(
        "quantify_hardware_config",
        "--quantify-hardware-config",
        "QPI_QUANTIFY_HARDWARE_CONFIG",
        path(),
        Path("quantify.hardware.json"),
        "Hardware-layer config (JSON/YAML) of the control instruments.",
    ),
    option(
        "quantify_device_config",
        "--quantify-device-config",
        "QPI_QUANTIFY_DEVICE_CONFIG",
        path(),
        Path("quantify.device.yml"),
        "Device-layer config (JSON or YAML) of the chip.",
    ),
    option(
        "job_timeout",
        "--job-timeout",
        "QPI_JOB_TIMEOUT",
        duration(above=True),
        None,
        "Local cap on one job's execution (the smaller of this and the dispatch's timeout wins).",
        default_text="the server's value",
    ),
    option(
        "options",
        ("-o", "--option"),
        (),
        key_values(),
        None,
        "Executor option KEY=VALUE (repeatable); the executor validates them.",
        default_text="none",
    ),
    option(
        "workers",
        ("-w", "--workers"),
        "QPI_DRIVER_WORKERS",
        integer(1),
        1,
        "Executor processes, one job at a time each; hardware executors accept 1 only.",
    ),
    option(
        "reconnect_min",
        "--reconnect-min",
        "QPI_RECONNECT_MIN",
        duration(above=True),
        1.0,
        "First retry delay after a failed connect or a lost link.",
    ),
    option(
        "reconnect_max",
        "--reconnect-max",
        "QPI_RECONNECT_MAX",
        duration(above=True),
        60.0,
        "Retry delay cap (delays double with full jitter).",
    ),
    option(
        "key_file",
        "--key-file",
        "QPI_DRIVER_KEY_FILE",
        path(),
        None,
        "Private key behind the client certificate; created (0600) when absent.",
        default_text="<data-dir>/driver.key",
    ),
    option(
        "outbox_dir",
        "--outbox-dir",
        "QPI_OUTBOX_DIR",
        path("DIR"),
        None,
        "Results the server has not acknowledged yet.",
        default_text="<data-dir>/outbox",
    ),
    option(
        "max_message_size",
        "--max-message-size",
        "QPI_MAX_MESSAGE_SIZE",
        size(minimum=1024),
        64 * MiB,
        "Largest NNG message accepted; the server's smaller value wins.",
    ),
    option(
        "shutdown_grace",
        "--shutdown-grace",
        "QPI_SHUTDOWN_GRACE",
        duration(),
        60.0,
        "On SIGTERM, how long running jobs may finish before their workers are killed.",
    ),
    option(
        "allow_insecure_http",
        "--allow-insecure-http",
        "QPI_ALLOW_INSECURE_HTTP",
        boolean(),
        False,
        "Allow sending the token over plain http:// to a non-loopback host.",
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
)
