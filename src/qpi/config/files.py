"""Config files: format by extension, decoding, and the key checks (unknown, both spellings).

Every function here is pure except :func:`read_text`, the default file reader, which the loader
takes as an argument so tests can pass their own.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from qpi.config.spec import OptionSpec
from qpi.errors import ConfigError

__all__ = ["FORMATS", "ReadFile", "decode", "did_you_mean", "file_values", "read_text"]

#: A file reader: the text of a file, raising ``FileNotFoundError`` when it does not exist.
ReadFile = Callable[[Path], str]

FORMATS = {".yml": "YAML", ".yaml": "YAML", ".json": "JSON", ".toml": "TOML"}


def read_text(path: Path) -> str:
    """The default reader: the file's text (UTF-8)."""
    return path.read_text(encoding="utf-8")


def decode(path: Path, text: str) -> dict[str, object]:
    """Decode ``text`` by the extension of ``path``; the document must be a mapping (or empty)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"{path}: unsupported config file extension {path.suffix!r} (use .yml, .yaml, .json or .toml)"
        )
    try:
        data: object
        if fmt == "YAML":
            import yaml

            data = yaml.safe_load(text)
        elif fmt == "JSON":
            data = json.loads(text) if text.strip() else None
        else:
            data = tomllib.loads(text)
    except Exception as exc:  # every decoder error becomes one problem line
        reason = " ".join(str(exc).split())
        raise ConfigError(f"{path}: not valid {fmt}: {reason}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        raise ConfigError(f"{path}: the file must hold one mapping of option keys, got {type(data).__name__}")
    return data


def _normalise(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).replace("-", "_").lower()


def did_you_mean(key: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a near-miss key, else ``""``."""
    names = sorted(set(candidates))
    by_normal = {_normalise(name): name for name in names}
    match = by_normal.get(_normalise(key))
    if match is None:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        match = close[0] if close else None
    return f" (did you mean {match!r}?)" if match else ""


def file_values(
    data: Mapping[str, object], table: Sequence[OptionSpec], source: str
) -> tuple[dict[str, object], list[str]]:
    """Map the file's keys (snake_case or camelCase alias) to option keys.

    Returns ``(values by option key, problems)``. Null values count as absent.
    """
    by_file_key: dict[str, OptionSpec] = {}
    for spec in table:
        for name in spec.file_keys:
            by_file_key[name] = spec
    values: dict[str, object] = {}
    spelled: dict[str, str] = {}
    problems: list[str] = []
    for name, value in data.items():
        found = by_file_key.get(name)
        if found is None and any(spec.key == name and not spec.in_file for spec in table):
            problems.append(f"{name!r} in {source} cannot be set inside a config file")
            continue
        if found is None:
            hint = did_you_mean(name, by_file_key)
            problems.append(f"unknown key {name!r} in {source}{hint}")
            continue
        spec = found
        if spec.key in spelled:
            problems.append(f"{spec.label}: both {spelled[spec.key]!r} and {name!r} are given in {source}; keep one")
            continue
        spelled[spec.key] = name
        if value is not None:
            values[spec.key] = value
    return values, problems
