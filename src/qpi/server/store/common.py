"""Helpers shared by the store modules: ids, JSON, row conversion."""

from __future__ import annotations

import secrets
import string
from typing import Any, TypeVar

import msgspec

__all__ = ["json_dumps", "json_loads", "new_id", "rows_to", "to_row"]

_ALPHABET = string.ascii_lowercase + string.digits

T = TypeVar("T")

_json_encoder = msgspec.json.Encoder()


_ID_LENGTH = 15
_ID_SPACE = len(_ALPHABET) ** _ID_LENGTH  # about 2**77.5


def new_id() -> str:
    """A 15-character ``[a-z0-9]`` id from a CSPRNG (``api.md`` §1.6).

    One 128-bit draw reduced modulo 36**15 (bias below 1e-15) instead of 15 separate draws: ids are
    made on every submit and event.
    """
    n = int.from_bytes(secrets.token_bytes(16), "big") % _ID_SPACE
    chars = []
    for _ in range(_ID_LENGTH):
        n, digit = divmod(n, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def json_dumps(value: Any) -> str:
    return _json_encoder.encode(value).decode()


def json_loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return msgspec.json.decode(text)


def to_row(row: dict[str, Any], kind: type[T]) -> T:
    return msgspec.convert(row, kind)


def rows_to(rows: list[dict[str, Any]], kind: type[T]) -> list[T]:
    return [msgspec.convert(r, kind) for r in rows]
