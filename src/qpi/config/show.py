"""What ``qpi config show`` prints: every option with its effective value and source, secrets masked.

Pure: it formats a :class:`~qpi.config.load.Loaded`; the click command only renders it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qpi.config.load import Loaded
from qpi.config.oauth2 import OAuth2Provider
from qpi.config.spec import OptionSpec
from qpi.config.values import format_scalar, mask_secret

__all__ = ["ShownOption", "mask_database_url", "show_document", "shown_options"]


@dataclass(frozen=True)
class ShownOption:
    """One row of ``qpi config show``: ``value`` is JSON-ready, ``text`` is for the table."""

    key: str
    value: object
    text: str
    source: str


def mask_database_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:sec…@host/db``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{name}:{mask_secret(parts.password)}@{host}"))


def _jsonable(spec: OptionSpec, value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    if spec.key == "oauth2_providers" and isinstance(value, tuple):
        return [p.to_json(mask=True) if isinstance(p, OAuth2Provider) else p for p in value]
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, str) and spec.secret:
        return mask_database_url(value) if spec.key == "database_url" else mask_secret(value)
    return value


def _text(spec: OptionSpec, value: object) -> str:
    if value is None or value in ((), [], {}):
        return "none"
    text = format_scalar(spec.type.name, value)
    if text is not None:
        return text
    if isinstance(value, list):
        if spec.type.name == "json":
            return json.dumps(value)
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def shown_options(loaded: Loaded[Any]) -> list[ShownOption]:
    """Every option of the mode, in table order."""
    rows = []
    for spec in loaded.table:
        value = _jsonable(spec, getattr(loaded.config, spec.key))
        rows.append(ShownOption(spec.key, value, _text(spec, value), loaded.sources.get(spec.key, "default")))
    return rows


def show_document(loaded: Loaded[Any]) -> dict[str, object]:
    """``{"mode": ..., "options": {key: {"value": ..., "source": ...}}}`` (the ``--json`` output)."""
    return {
        "mode": loaded.mode,
        "options": {row.key: {"value": row.value, "source": row.source} for row in shown_options(loaded)},
    }
