"""A page of a list answer (``api.md`` §1.5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Page"]

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """``items`` of one page; ``total`` from ``X-Total-Count``; ``next_url`` from ``Link: rel="next"``."""

    items: list[T]
    total: int | None
    offset: int
    limit: int
    next_url: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_more(self) -> bool:
        return self.next_url is not None
