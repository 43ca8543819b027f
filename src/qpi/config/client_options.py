"""The client options of ``qpi submit``, ``qpi jobs …`` and ``qpi.client`` (``config.md`` §6)."""

from __future__ import annotations

from functools import partial

from qpi.config import validators as val
from qpi.config.spec import OptionSpec, duration, enum, option, path, text

__all__ = ["CLIENT_OPTIONS", "OUTPUTS", "PROFILE_KEYS"]

OUTPUTS = ("table", "json")

CLIENT_OPTIONS: tuple[OptionSpec, ...] = (
    option(
        "client_config",
        "--client-config",
        "QPI_CLIENT_CONFIG",
        path(),
        None,
        "Client config file (YAML, JSON or TOML).",
        default_text="<config dir>/config.toml",
        in_file=False,
    ),
    option("profile", "--profile", "QPI_PROFILE", text(metavar="NAME"), "default", "Profile to use from the file."),
    option(
        "addr",
        "--addr",
        "QPI_ADDR",
        text(partial(val.parse_base_url, default_scheme="http"), "URL"),
        "http://127.0.0.1:8090",
        "Server base URL.",
    ),
    option(
        "api_token",
        "--token",
        "QPI_API_TOKEN",
        text(),
        None,
        "API token, sent as X-API-Token (prefer the variable or `qpi login`: flags show in ps).",
        secret=True,
    ),
    option(
        "ca_file",
        "--ca-file",
        "QPI_CLIENT_CA_FILE",
        path(),
        None,
        "Extra CA certificate (PEM) to trust for https.",
        default_text="system trust store",
    ),
    option("timeout", "--timeout", "QPI_TIMEOUT", duration(above=True), 30.0, "Timeout of each HTTP request."),
    option(
        "qpu",
        "--qpu",
        "QPI_QPU",
        text(metavar="QPU"),
        None,
        "QPU name or id for qpi submit.",
        default_text="automatic placement",
    ),
    option("output", "--output", "QPI_OUTPUT", enum(OUTPUTS), "table", "Output format: table or json."),
)

#: Keys a ``[profiles.NAME]`` table may hold.
PROFILE_KEYS: tuple[str, ...] = ("addr", "api_token", "ca_file", "timeout", "qpu", "output")
