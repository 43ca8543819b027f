"""Human formatting of seconds, instants and durations given on the command line. Pure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from qpi.errors import InvalidInputError

__all__ = ["format_instant", "format_seconds", "parse_expires", "parse_instant", "parse_span"]

_RELATIVE = re.compile(r"^([+-])\s*(.+)$")


def format_seconds(seconds: float | None) -> str:
    """``0.41 s``, ``12.5 s``, ``3 min 05 s``, ``1 h 03 min``; ``-`` for unknown."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def _ago(delta: float) -> str:
    future = delta < 0
    span = abs(delta)
    if span < 60:
        text = f"{span:.0f} s"
    elif span < 3600:
        text = f"{span // 60:.0f} min"
    elif span < 86400:
        text = f"{span // 3600:.0f} h"
    else:
        text = f"{span // 86400:.0f} d"
    return f"in {text}" if future else f"{text} ago"


def format_instant(value: datetime | None, now: datetime | None = None, *, relative: bool = True) -> str:
    """Local time with a relative hint: ``2026-11-24 10:04:05 (3 min ago)``."""
    if value is None:
        return "-"
    local = value.astimezone()
    text = local.strftime("%Y-%m-%d %H:%M:%S")
    if not relative:
        return text
    reference = now or datetime.now(UTC)
    return f"{text} ({_ago((reference - value).total_seconds())})"


def parse_span(text: str) -> timedelta:
    """A duration: ``90s``, ``10m``, ``1h30m``, ``7d`` (a bare number = seconds)."""
    from qpi.config import parse_duration
    from qpi.errors import ConfigError

    try:
        return timedelta(seconds=parse_duration(text.strip()))
    except ConfigError as exc:
        raise InvalidInputError(f"{text!r} is not a duration ({exc.message}); e.g. 90s, 10m, 1h30m, 7d") from exc


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (a time without offset is local time) or ``+10m`` / ``-2h`` from now."""
    reference = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip())
    if match:
        span = parse_span(match.group(2))
        return reference + span if match.group(1) == "+" else reference - span
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError as exc:
        raise InvalidInputError(f"{text!r} is not an ISO 8601 time or a +10m style offset") from exc
    return value if value.tzinfo is not None else value.astimezone()


def parse_expires(text: str, now: datetime | None = None) -> datetime | timedelta | None:
    """``never`` → None; a duration (``30d``) → timedelta; else an instant."""
    value = text.strip().lower()
    if value in ("never", "none", ""):
        return None
    if re.match(r"^\d+(\.\d+)?\s*[a-z]*$", value):
        return parse_span(value)
    return parse_instant(text, now)
