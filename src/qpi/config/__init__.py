"""QPI configuration: option tables, a pure loader and the frozen config objects (``config.md``).

Precedence: CLI flag > environment variable > config file > default. Each process builds one
frozen object once, at start::

    loaded = load_config("serve", cli={"server_port": "8091"}, env=os.environ, cwd=Path.cwd())
    loaded.config.server_port   # 8091
    loaded.sources["server_port"]   # "cli"

Importing this package reads nothing and imports only the standard library (YAML is imported
when a YAML file is read); the click glue lives in :mod:`qpi.cli.options`.
"""

from __future__ import annotations

from qpi.config.client import client_config_dir, load_client, read_client_file
from qpi.config.client_file import save_profile
from qpi.config.client_options import CLIENT_OPTIONS, PROFILE_KEYS
from qpi.config.driver_options import DRIVER_OPTIONS, HARDWARE_EXECUTORS
from qpi.config.load import Loaded, Mode, load_config, table_for
from qpi.config.models import ClientConfig, DriverConfig, ServeConfig
from qpi.config.oauth2 import OAuth2Provider
from qpi.config.serve_options import DB_COMMAND_KEYS, SERVE_OPTIONS, TABLE_NAME_KEYS
from qpi.config.spec import NOT_YET_OPTIONS, OptionSpec, ValueType
from qpi.config.values import format_duration, format_size, parse_duration, parse_size

__all__ = [
    "CLIENT_OPTIONS",
    "DB_COMMAND_KEYS",
    "DRIVER_OPTIONS",
    "HARDWARE_EXECUTORS",
    "NOT_YET_OPTIONS",
    "PROFILE_KEYS",
    "SERVE_OPTIONS",
    "TABLE_NAME_KEYS",
    "ClientConfig",
    "DriverConfig",
    "Loaded",
    "Mode",
    "OAuth2Provider",
    "OptionSpec",
    "ServeConfig",
    "ValueType",
    "client_config_dir",
    "format_duration",
    "format_size",
    "load_client",
    "load_config",
    "parse_duration",
    "parse_size",
    "read_client_file",
    "save_profile",
    "table_for",
]
