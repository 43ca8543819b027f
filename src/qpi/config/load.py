"""The pure loader: ``load_config(mode, cli, env, ...)`` → :class:`Loaded`.

Nothing here reads the process environment or the working directory: the caller passes ``env``
(``os.environ`` in the CLI, a dict in tests) and ``cwd``. The only I/O is the ``read_file``
callable, which reads the config file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast, overload

from qpi.config.driver_options import DRIVER_OPTIONS, HARDWARE_EXECUTORS
from qpi.config.files import FORMATS, ReadFile, decode, file_values, read_text
from qpi.config.layers import DEFAULT, Resolved, absolute, resolve
from qpi.config.models import ClientConfig, DriverConfig, ServeConfig
from qpi.config.serve_options import SERVE_OPTIONS, TABLE_NAME_KEYS
from qpi.config.spec import OptionSpec
from qpi.config.validators import url_host
from qpi.errors import ConfigError

__all__ = ["Loaded", "Mode", "load_config", "table_for"]

Mode = Literal["serve", "driver", "client"]
C = TypeVar("C", ServeConfig, DriverConfig, ClientConfig)


@dataclass(frozen=True)
class Loaded(Generic[C]):
    """A loaded configuration: the frozen object and, per option key, where its value came from
    (``cli``, ``env:VAR``, ``file:<path>`` or ``default``)."""

    mode: Mode
    config: C
    sources: Mapping[str, str]

    @property
    def table(self) -> tuple[OptionSpec, ...]:
        return table_for(self.mode)


def table_for(mode: Mode) -> tuple[OptionSpec, ...]:
    """The option table of a mode."""
    if mode == "serve":
        return SERVE_OPTIONS
    if mode == "driver":
        return DRIVER_OPTIONS
    from qpi.config.client_options import CLIENT_OPTIONS

    return CLIENT_OPTIONS


@overload
def load_config(
    mode: Literal["serve"],
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path | None = ...,
    read_file: ReadFile = ...,
    platform: str | None = ...,
    home: Path | None = ...,
) -> Loaded[ServeConfig]: ...
@overload
def load_config(
    mode: Literal["driver"],
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path | None = ...,
    read_file: ReadFile = ...,
    platform: str | None = ...,
    home: Path | None = ...,
) -> Loaded[DriverConfig]: ...
@overload
def load_config(
    mode: Literal["client"],
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path | None = ...,
    read_file: ReadFile | None = ...,
    platform: str | None = ...,
    home: Path | None = ...,
) -> Loaded[ClientConfig]: ...
@overload
def load_config(
    mode: Mode,
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path | None = ...,
    read_file: ReadFile | None = ...,
    platform: str | None = ...,
    home: Path | None = ...,
) -> Loaded[Any]: ...
def load_config(
    mode: Mode,
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path | None = None,
    read_file: ReadFile | None = None,
    platform: str | None = None,
    home: Path | None = None,
) -> Loaded[Any]:
    """Build the configuration of ``mode`` with precedence CLI > env > file > default.

    ``cli`` holds only the options given on the command line, by key (strings as typed, or typed
    values). ``cwd`` defaults to the current directory; relative paths resolve against it (the
    TLS files of ``serve`` against ``data_dir``). ``platform`` and ``home`` are used by the
    client mode only (config directory). Raises :class:`~qpi.errors.ConfigError` with every
    problem found, one line each.
    """
    base = cwd if cwd is not None else Path.cwd()
    if mode == "client":
        from qpi.config.client import load_client

        config, sources = load_client(cli, env, cwd=base, read_file=read_file, platform=platform, home=home)
        return Loaded(mode, config, sources)
    if mode not in ("serve", "driver"):
        raise ConfigError(f"unknown configuration mode {mode!r} (serve, driver or client)")
    table = table_for(mode)
    reader = read_file or read_text
    resolved = _resolve_with_file(table, cli, env, base, reader)
    (_derive_serve if mode == "serve" else _derive_driver)(resolved, base)
    if resolved.problems:
        raise ConfigError(problems=resolved.problems)
    cls: type[ServeConfig | DriverConfig] = ServeConfig if mode == "serve" else DriverConfig
    return Loaded(mode, cls(**cast(dict[str, Any], resolved.values)), dict(resolved.sources))


def _resolve_with_file(
    table: tuple[OptionSpec, ...],
    cli: Mapping[str, object],
    env: Mapping[str, str],
    cwd: Path,
    read_file: ReadFile,
) -> Resolved:
    """Find and read the config file (flag > variable > default), then resolve every option."""
    (file_spec,) = [spec for spec in table if spec.key == "config_file"]
    given = {key: value for key, value in cli.items() if key == "config_file"}
    located = resolve([file_spec], given, env, {}, "file")
    path = absolute(cast(Path, located.values["config_file"]), cwd)
    source = located.sources["config_file"]
    problems = list(located.problems)
    data: dict[str, object] = {}
    read: Path | None = None
    if not problems:
        try:
            if path.suffix.lower() not in FORMATS:
                raise ConfigError(f"{path}: unsupported extension {path.suffix!r} (use .yml, .yaml, .json or .toml)")
            data = decode(path, read_file(path))
            read = path
        except FileNotFoundError:
            if source != DEFAULT:
                problems.append(f"--config-file: {str(path)!r} from {source} does not exist")
        except OSError as exc:
            problems.append(f"--config-file: cannot read {str(path)!r} from {source}: {exc.strerror or exc}")
        except ConfigError as exc:
            problems.append(f"--config-file: {exc.message} (from {source})")
    file_source = f"file:{path}"
    values, key_problems = file_values(data, table, file_source)
    resolved = resolve(table, cli, env, values, file_source)
    resolved.values["config_file"] = read
    resolved.problems[:0] = [*problems, *key_problems]
    return resolved


def _path(resolved: Resolved, key: str, base: Path) -> Path:
    return absolute(cast(Path, resolved.values[key]), base)


def _derive_serve(r: Resolved, cwd: Path) -> None:
    v = r.values
    data_dir = v["data_dir"] = _path(r, "data_dir", cwd)
    for key in ("tls_ca_cert_file", "tls_ca_key_file", "tls_cert_file", "tls_key_file"):
        v[key] = _path(r, key, data_dir)
    url = cast("str | None", v["database_url"])
    if url is None:
        v["database_url"] = f"sqlite:///{data_dir / 'qpi.sqlite3'}"
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        v["database_url"] = f"sqlite:///{absolute(Path(url.removeprefix('sqlite:///')), cwd)}"
    if v["host"] is None:
        v["host"] = "127.0.0.1" if v["local_qpu"] is not None else "0.0.0.0"
    if v["public_url"] is None:
        scheme = "https" if v["https"] else "http"
        v["public_url"] = f"{scheme}://{url_host(str(v['domain'] or v['ip_addr']))}:{v['server_port']}"
    if v["local_qpu_name"] is None:
        v["local_qpu_name"] = f"local_{v['local_qpu'] or 'mock'}"
    start, end = cast(int, v["port_range_start"]), cast(int, v["port_range_end"])
    if end <= start:
        r.problems.append(
            f"--port-range-end: {end} ({r.sources['port_range_end']}) must exceed --port-range-start {start} "
            f"({r.sources['port_range_start']})"
        )
    elif start <= cast(int, v["server_port"]) < end:
        r.problems.append(
            f"--server-port: {v['server_port']} ({r.sources['server_port']}) lies inside the NNG port range "
            f"{start}..{end - 1}"
        )
    owners: dict[object, str] = {}
    for key in TABLE_NAME_KEYS:
        if v[key] in owners:
            r.problems.append(
                f"--{key.replace('_', '-')}: table name {v[key]!r} ({r.sources[key]}) is already used by "
                f"--{owners[v[key]].replace('_', '-')}; table names must be distinct"
            )
        owners.setdefault(v[key], key)
    low, high = cast(float, v["booking_min_duration"]), cast(float, v["booking_max_duration"])
    if low > 0 and high > 0 and low > high:
        r.problems.append(
            f"--booking-min-duration: {low:g}s ({r.sources['booking_min_duration']}) exceeds "
            f"--booking-max-duration {high:g}s ({r.sources['booking_max_duration']})"
        )


def _derive_driver(r: Resolved, cwd: Path) -> None:
    v = r.values
    for key in ("token", "ca_fingerprint"):
        spec = next(s for s in DRIVER_OPTIONS if s.key == key)
        if v[key] is None and not any(p.startswith(f"{spec.label}:") for p in r.problems):
            r.problems.append(
                f"{spec.label} is required: give {spec.label}, set {spec.env[0]} or the file key {spec.key}"
            )
    data_dir = v["data_dir"] = _path(r, "data_dir", cwd)
    for key in ("ca_file", "quantify_hardware_config", "quantify_device_config"):
        v[key] = _path(r, key, cwd)
    v["key_file"] = data_dir / "driver.key" if v["key_file"] is None else _path(r, "key_file", cwd)
    v["outbox_dir"] = data_dir / "outbox" if v["outbox_dir"] is None else _path(r, "outbox_dir", cwd)
    v["options"] = dict(cast("dict[str, str] | None", v["options"]) or {})
    low, high = cast(float, v["reconnect_min"]), cast(float, v["reconnect_max"])
    if high < low:
        r.problems.append(
            f"--reconnect-max: {high:g}s ({r.sources['reconnect_max']}) is below --reconnect-min {low:g}s "
            f"({r.sources['reconnect_min']})"
        )
    if v["executor"] in HARDWARE_EXECUTORS and cast(int, v["workers"]) > 1:
        r.problems.append(
            f"--workers: {v['workers']} ({r.sources['workers']}) but the {v['executor']} executor drives "
            "hardware and accepts 1 worker only"
        )
