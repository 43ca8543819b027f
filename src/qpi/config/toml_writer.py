"""A small TOML writer for the client config file (``tomllib`` only reads).

It writes what a client file holds: strings, booleans, integers, floats, dates and times,
arrays of those or of tables (inline), and nested tables (``[profiles.default]``). The output
reads back with :func:`tomllib.loads` to the same data (tested).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping

from qpi.errors import ConfigError

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to TOML")


def _table(lines: list[str], header: tuple[str, ...], table: Mapping[str, object]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if header and (scalars or not tables):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_key(part) for part in header) + "]")
    for key, value in scalars.items():
        if value is None:
            continue
        lines.append(f"{_key(str(key))} = {_value(value)}")
    for key, sub in tables.items():
        _table(lines, (*header, str(key)), sub)


def dumps(data: Mapping[str, object]) -> str:
    """``data`` as TOML text (``None`` values are left out: TOML has no null)."""
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines) + "\n"
