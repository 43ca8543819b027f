"""The base of every client model: a frozen msgspec Struct that remembers the API document.

Decoding ignores unknown fields (forward-compatible) and turns RFC 3339 strings into
timezone-aware datetimes. :meth:`Model.to_dict` gives back the server's own JSON document when
the model was decoded from one (the CLI's ``--json`` output prints exactly that), else the
model's fields.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

import msgspec

__all__ = ["Model", "attach_raw", "convert", "obj"]

M = TypeVar("M", bound="Model")


class Model(msgspec.Struct, frozen=True, dict=True, kw_only=True):
    """A typed, immutable view of one API object."""

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON document for this object (a copy), or the model's fields."""
        raw = self.__dict__.get("_raw")
        if isinstance(raw, dict):
            return copy.deepcopy(raw)
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


def attach_raw(model: M, raw: Any) -> M:
    """Remember the API document ``raw`` behind ``model`` (returned by :meth:`Model.to_dict`)."""
    model.__dict__["_raw"] = raw
    return model


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def convert(cls: type[M], shaped: Any, raw: Any = None) -> M:
    """``shaped`` (already renamed to the model's fields) → ``cls``; keeps ``raw`` (default ``shaped``)."""
    try:
        model = msgspec.convert(shaped, cls)
    except msgspec.ValidationError as exc:
        from qpi.client.errors import TransportError

        raise TransportError(f"the server sent an unexpected {cls.__name__} document: {exc}") from exc
    return attach_raw(model, shaped if raw is None else raw)
