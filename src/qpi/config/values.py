"""Pure value parsers for configuration options (``config.md`` §1).

Every parser takes the raw value as it came from its source (a string from a flag or a variable,
a native YAML/JSON/TOML value from a file) and returns the typed value, or raises
:class:`~qpi.errors.ConfigError` with a short reason. The loader adds the option, the value and the source.

Formats: durations ``250ms``, ``5s``, ``10m``, ``1h30m``, ``7d`` (a bare number = seconds) → float
seconds; sizes ``64MiB``, ``1GB`` (a bare number = bytes) → int bytes; booleans
``true/false/1/0/yes/no/on/off`` in any case; lists as sequences or comma-separated strings.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from qpi.errors import ConfigError

__all__ = [
    "format_duration",
    "format_scalar",
    "format_size",
    "mask_secret",
    "parse_bool",
    "parse_duration",
    "parse_enum",
    "parse_float",
    "parse_int",
    "parse_json",
    "parse_key_values",
    "parse_list",
    "parse_path",
    "parse_size",
    "parse_str",
]


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INT = re.compile(r"\s*[+-]?\d+\s*")
_SIZE = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)")
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _check_range(value: float, minimum: float | None, maximum: float | None, *, above: bool = False) -> None:
    if minimum is not None and (value <= minimum if above else value < minimum):
        raise ConfigError(f"must be {'>' if above else '≥'} {_plain(minimum)}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"must be ≤ {_plain(maximum)}")


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def parse_duration(raw: object, *, minimum: float = 0.0, above: bool = False) -> float:
    """``250ms``, ``5s``, ``10m``, ``1h30m``, ``7d`` or a bare number of seconds → float seconds."""
    if isinstance(raw, bool):
        raise ConfigError("expected a duration such as 250ms, 5s, 10m, 1h30m or 7d")
    if isinstance(raw, int | float):
        seconds = float(raw)
    elif isinstance(raw, str):
        text = raw.strip().lower()
        if _NUMBER.fullmatch(text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            for match in _DURATION_PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or not text:
                raise ConfigError("expected a duration such as 250ms, 5s, 10m, 1h30m or 7d")
    else:
        raise ConfigError("expected a duration such as 250ms, 5s, 10m, 1h30m or 7d")
    if not math.isfinite(seconds):
        raise ConfigError("must be a finite duration")
    if seconds < minimum or (above and seconds <= minimum):
        raise ConfigError(f"must be {'>' if above else '≥'} {format_duration(minimum)}")
    return seconds


def format_duration(seconds: float) -> str:
    """The canonical text of a duration, parseable by :func:`parse_duration` (``5400`` → ``1h30m``)."""
    if seconds == 0:
        return "0s"
    millis = round(seconds * 1000)
    if abs(millis - seconds * 1000) > 1e-6 or millis < 0:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_size(raw: object, *, minimum: int = 0) -> int:
    """``64MiB``, ``1GB``, ``512kB`` or a bare number of bytes → int bytes (units in any case)."""
    problem = ConfigError("expected a size such as 64MiB, 1GB or a number of bytes")
    if isinstance(raw, bool):
        raise problem
    if isinstance(raw, int):
        size = raw
    elif isinstance(raw, float):
        if not raw.is_integer():
            raise ConfigError("a size must be a whole number of bytes")
        size = int(raw)
    elif isinstance(raw, str):
        match = _SIZE.fullmatch(raw.strip().lower())
        if match is None or match.group(2) not in _SIZE_UNITS:
            raise problem
        exact = float(match.group(1)) * _SIZE_UNITS[match.group(2)]
        if not exact.is_integer():
            raise ConfigError("a size must be a whole number of bytes")
        size = int(exact)
    else:
        raise problem
    if size < minimum:
        raise ConfigError(f"must be ≥ {format_size(minimum)}")
    return size


def format_size(size: int) -> str:
    """The canonical text of a size: the largest binary unit that divides it (``67108864`` → ``64MiB``)."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def format_scalar(kind: str, value: object) -> str | None:
    """The canonical text of a value of a ``duration`` or ``size`` option, or of a boolean; else None."""
    if kind == "duration" and isinstance(value, float | int):
        return format_duration(float(value))
    if kind == "size" and isinstance(value, int):
        return format_size(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return None


def parse_bool(raw: object) -> bool:
    """``true/false/1/0/yes/no/on/off`` in any case (or a native boolean)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ConfigError("expected a boolean: true/false, yes/no, on/off or 1/0")


def parse_int(raw: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (a string of digits, or an integral number) within [minimum, maximum]."""
    value: int
    if isinstance(raw, bool):
        raise ConfigError("expected an integer")
    if isinstance(raw, int):
        value = raw
    elif (isinstance(raw, float) and raw.is_integer()) or (isinstance(raw, str) and _INT.fullmatch(raw)):
        value = int(raw)
    else:
        raise ConfigError("expected an integer")
    _check_range(value, minimum, maximum)
    return value


def parse_float(
    raw: object, *, minimum: float | None = None, maximum: float | None = None, above: bool = False
) -> float:
    """A finite number within bounds (``above``: strictly greater than ``minimum``)."""
    if isinstance(raw, bool):
        raise ConfigError("expected a number")
    if isinstance(raw, int | float) or (isinstance(raw, str) and _NUMBER.fullmatch(raw.strip())):
        value = float(raw)
    else:
        raise ConfigError("expected a number")
    if not math.isfinite(value):
        raise ConfigError("expected a finite number")
    _check_range(value, minimum, maximum, above=above)
    return value


def parse_str(raw: object, *, allow_empty: bool = False) -> str:
    """A string (numbers from a file are accepted as their text); stripped of outer spaces."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ConfigError("expected a string")
    text = str(raw).strip()
    if not text and not allow_empty:
        raise ConfigError("must not be empty")
    return text


def parse_enum(raw: object, choices: Collection[str]) -> str:
    """One of ``choices``, compared case-insensitively; returned as written in ``choices``."""
    text = parse_str(raw).lower()
    for choice in choices:
        if choice.lower() == text:
            return choice
    raise ConfigError(f"expected one of {', '.join(choices)}")


def parse_path(raw: object) -> Path:
    """A filesystem path (``~`` is expanded; relative paths are resolved by the loader)."""
    if isinstance(raw, Path):
        return raw
    return Path(parse_str(raw)).expanduser()


def parse_list(raw: object) -> tuple[str, ...]:
    """A list of strings: a sequence (flags, file arrays) or comma-separated text (variables)."""
    items: Sequence[object]
    if isinstance(raw, str):
        items = [raw]
    elif isinstance(raw, list | tuple):
        items = raw
    else:
        raise ConfigError("expected a list (a file array, or comma-separated text)")
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigError(f"list items must be strings, got {item!r}")
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return tuple(out)


def parse_json(raw: object) -> object:
    """JSON text (flags, variables) or an already-decoded value (files)."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc}") from exc
    return raw


def parse_key_values(raw: object) -> dict[str, str]:
    """``KEY=VALUE`` items (repeated flags) or a mapping (files); values stay strings."""
    out: dict[str, str] = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if not isinstance(key, str) or not key.strip():
                raise ConfigError(f"option names must be non-empty strings, got {key!r}")
            out[key.strip()] = _scalar_text(key, value)
        return out
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise ConfigError("expected KEY=VALUE items or a mapping")
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ConfigError(f"expected KEY=VALUE, got {item!r}")
        key, _, value = item.partition("=")
        if not key.strip():
            raise ConfigError(f"expected KEY=VALUE with a non-empty KEY, got {item!r}")
        out[key.strip()] = value
    return out


def _scalar_text(key: object, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigError(f"the value of {key!r} must be a string, number or boolean, got {value!r}")


def mask_secret(secret: str) -> str:
    """The first 8 characters and ``…`` (at most half of a short secret is shown)."""
    return secret[: min(8, len(secret) // 2)] + "…"
