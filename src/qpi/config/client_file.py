"""Writing the client config file: :func:`save_profile`.

The directory is created with mode 0700 and the file with mode 0600 *at creation* (``os.open``
with a mode, never a later ``chmod``), written to a temporary file in the same directory and
renamed over the old one, so readers see either the old or the new file. Keys and profiles the
caller did not name are preserved.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from qpi.config import toml_writer
from qpi.config.client_options import PROFILE_KEYS
from qpi.config.files import FORMATS, decode
from qpi.errors import ConfigError

__all__ = ["atomic_write_private", "save_profile"]


def save_profile(path: Path, profile_name: str, values: Mapping[str, object], make_current: bool = False) -> Path:
    """Set ``values`` in ``[profiles.<profile_name>]`` of the client file at ``path``.

    A ``None`` value removes that key from the profile. ``make_current`` also sets the top-level
    ``profile`` key. The format follows the extension (TOML, YAML or JSON). Returns ``path``.
    """
    if not profile_name.strip():
        raise ConfigError("a profile name must not be empty")
    unknown = sorted(set(values) - set(PROFILE_KEYS))
    if unknown:
        raise ConfigError(f"unknown profile key {', '.join(unknown)} (known: {', '.join(PROFILE_KEYS)})")
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"{path}: unsupported config file extension {path.suffix!r}")
    try:
        data = decode(path, path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    profiles = data.get("profiles", {})
    if not isinstance(profiles, Mapping):
        raise ConfigError(f"{path}: 'profiles' must be a table of profiles; not overwriting the file")
    current = profiles.get(profile_name, {})
    if not isinstance(current, Mapping):
        raise ConfigError(f"{path}: profile {profile_name!r} must be a table; not overwriting the file")
    profile = dict(current)
    for key, value in values.items():
        if value is None:
            profile.pop(key, None)
        else:
            profile[key] = str(value) if isinstance(value, Path) else value
    out = dict(data)
    if make_current:
        out["profile"] = profile_name
    out["profiles"] = {**profiles, profile_name: profile}
    atomic_write_private(path, _encode(path, out))
    return path


def _encode(path: Path, data: Mapping[str, object]) -> str:
    fmt = FORMATS[path.suffix.lower()]
    if fmt == "TOML":
        return toml_writer.dumps(data)
    if fmt == "JSON":
        return json.dumps(data, indent=2) + "\n"
    import yaml

    return str(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True))


def atomic_write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: directory created 0700, file created 0600."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if os.name == "posix":
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
