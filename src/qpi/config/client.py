"""Client configuration (``config.md`` §6): the per-user directory, the profile file, resolution.

Resolution, first found wins: argument (flag) > variable > the profile in the file > default.
The profile itself: argument > ``QPI_PROFILE`` > the file's ``profile`` key > ``default``.
The file is ``<config dir>/config.toml`` or ``QPI_CLIENT_CONFIG`` (YAML, JSON or TOML)::

    profile = "default"
    [profiles.default]
    addr = "http://127.0.0.1:8090"
    api_token = "qpi_…"
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from qpi.config.client_options import CLIENT_OPTIONS, PROFILE_KEYS
from qpi.config.files import ReadFile, decode, did_you_mean
from qpi.config.layers import DEFAULT, absolute, resolve
from qpi.config.models import ClientConfig
from qpi.errors import ConfigError

__all__ = ["client_config_dir", "load_client", "read_client_file"]

logger = logging.getLogger(__name__)

_TOP_KEYS = ("profile", "profiles")


def client_config_dir(env: Mapping[str, str], *, platform: str, home: Path, cwd: Path | None = None) -> Path:
    """The per-user config directory: ``QPI_CONFIG_DIR``, else the platform's convention."""
    override = env.get("QPI_CONFIG_DIR", "").strip()
    if override:
        given = Path(home, override[2:]) if override.startswith("~/") else Path(override)
        return absolute(given, cwd) if cwd is not None else given
    if platform == "darwin":
        return home / "Library" / "Application Support" / "qpi"
    if platform.startswith(("win", "cygwin")):
        appdata = env.get("APPDATA", "").strip()
        return Path(appdata, "qpi") if appdata else home / "AppData" / "Roaming" / "qpi"
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec says relative values are ignored
        return Path(xdg) / "qpi"
    return home / ".config" / "qpi"


def read_client_file(path: Path) -> str:
    """Read the client file; a mode looser than 0600 is logged as a warning (the file is still read)."""
    text = path.read_text(encoding="utf-8")
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            logger.warning(
                "client config %s has mode %04o; it holds API tokens, restrict it with: chmod 600 %s",
                path,
                mode,
                path,
            )
    return text


def load_client(
    cli: Mapping[str, object],
    env: Mapping[str, str],
    *,
    cwd: Path,
    read_file: ReadFile | None = None,
    platform: str | None = None,
    home: Path | None = None,
    require_profile: bool = True,
) -> tuple[ClientConfig, dict[str, str]]:
    """Resolve the client configuration → ``(config, sources by key)``.

    ``require_profile=False`` accepts a named profile that the file lacks (``qpi login`` creates it).
    """
    home_dir = home if home is not None else (Path(env["HOME"]) if env.get("HOME") else Path.home())
    config_dir = client_config_dir(env, platform=platform or sys.platform, home=home_dir, cwd=cwd)
    specs = {spec.key: spec for spec in CLIENT_OPTIONS}
    located = resolve([specs["client_config"]], _only(cli, "client_config"), env, {}, "file")
    problems = list(located.problems)
    named = cast("Path | None", located.values["client_config"])
    path = absolute(named, cwd) if named is not None else config_dir / "config.toml"
    data, read = _read(path, located.sources["client_config"], read_file or read_client_file, problems)
    source = f"file:{path}"
    profiles = _profiles(data, source, problems)
    top = {"profile": data["profile"]} if data.get("profile") not in (None, "") else {}
    chosen = resolve([specs["profile"]], _only(cli, "profile"), env, top, source)
    problems += chosen.problems
    profile = cast(str, chosen.values["profile"])
    table = profiles.get(profile)
    if table is None and chosen.sources["profile"] != DEFAULT and require_profile:
        known = f"known: {', '.join(sorted(profiles))}" if profiles else "it has no profiles"
        problems.append(f"--profile: profile {profile!r} from {chosen.sources['profile']} is not in {path} ({known})")
    values = _profile_values(table or {}, profile, source, problems)
    rest = [spec for spec in CLIENT_OPTIONS if spec.key not in ("client_config", "profile")]
    others = {key: value for key, value in cli.items() if key not in ("client_config", "profile")}
    resolved = resolve(rest, others, env, values, source)
    problems += resolved.problems
    if problems:
        raise ConfigError(problems=problems)
    ca_file = cast("Path | None", resolved.values["ca_file"])
    if ca_file is not None:
        base = path.parent if resolved.sources["ca_file"] == source else cwd
        resolved.values["ca_file"] = absolute(ca_file, base)
    config = ClientConfig(
        client_config=read, config_dir=config_dir, profile=profile, **cast(dict[str, Any], resolved.values)
    )
    sources = {
        "client_config": located.sources["client_config"],
        "profile": chosen.sources["profile"],
        **resolved.sources,
    }
    return config, sources


def _only(cli: Mapping[str, object], key: str) -> dict[str, object]:
    return {key: cli[key]} if key in cli else {}


def _read(path: Path, source: str, read_file: ReadFile, problems: list[str]) -> tuple[dict[str, object], Path | None]:
    try:
        return decode(path, read_file(path)), path
    except FileNotFoundError:
        if source != DEFAULT:
            problems.append(f"--client-config: {str(path)!r} from {source} does not exist")
    except OSError as exc:
        problems.append(f"--client-config: cannot read {str(path)!r} from {source}: {exc.strerror or exc}")
    except ConfigError as exc:
        problems.append(f"--client-config: {exc.message} (from {source})")
    return {}, None


def _profiles(data: Mapping[str, object], source: str, problems: list[str]) -> dict[str, Mapping[str, object]]:
    for key in data:
        if key in _TOP_KEYS:
            continue
        if key in PROFILE_KEYS:
            problems.append(f"key {key!r} in {source} belongs in a [profiles.NAME] table")
        else:
            problems.append(f"unknown key {key!r} in {source}{did_you_mean(key, _TOP_KEYS)}")
    if "profile" in data and not isinstance(data["profile"], str):
        problems.append(f"--profile: the key 'profile' in {source} must be a string")
    raw = data.get("profiles") or {}
    if not isinstance(raw, Mapping):
        problems.append(f"'profiles' in {source} must be a table of profiles")
        return {}
    out: dict[str, Mapping[str, object]] = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            problems.append(f"profile {name!r} in {source} must be a table")
            continue
        out[str(name)] = table
    return out


def _profile_values(table: Mapping[str, object], profile: str, source: str, problems: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in PROFILE_KEYS:
            hint = did_you_mean(key, PROFILE_KEYS)
            problems.append(f"unknown key {key!r} in profile {profile!r} of {source}{hint}")
        elif value is not None and value != "":  # an empty string means "not set" (e.g. ca_file = "")
            values[key] = value
    return values
