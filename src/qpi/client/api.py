"""JSON helpers over :class:`~qpi.client.transport.Transport`, shared by the resource namespaces.

Decoding happens once, here: a body becomes Python data, and list answers become a
:class:`~qpi.client.models.Page` with the totals of the pagination headers (``api.md`` §1.5).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from qpi.client.errors import InvalidInputError, TransportError
from qpi.client.models import Job, Page
from qpi.client.transport import Transport

__all__ = ["Api", "job_id_of", "quote", "rfc3339"]

T = TypeVar("T")

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-z]+)"?')
#: the largest page the server serves
MAX_PAGE = 500


def job_id_of(job: str | Job) -> str:
    """A job-like argument (an id or a :class:`Job`) → the id."""
    job_id = job.id if isinstance(job, Job) else str(job)
    if not job_id or "/" in job_id:
        raise InvalidInputError(f"not a job id: {job_id!r}")
    return job_id


def quote(segment: str) -> str:
    """One path segment, percent-encoded."""
    from urllib.parse import quote as _quote

    return _quote(str(segment), safe="")


def rfc3339(value: datetime | timedelta) -> str:
    """A datetime (naive = local time) or a delay from now → ``2026-07-24T10:04:05.123Z``."""
    if isinstance(value, timedelta):
        value = datetime.now(UTC) + value
    if value.tzinfo is None:
        value = value.astimezone()
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _decode(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise TransportError(
            f"the server answered {response.request.method} {response.request.url.path} with a body "
            f"that is not JSON: {response.text[:200]!r}"
        ) from exc


def _next_link(header: str | None) -> str | None:
    for url, rel in _LINK.findall(header or ""):
        if rel == "next":
            return str(url)
    return None


class Api:
    """``get``/``post``/``patch``/``delete`` returning decoded JSON, and ``page`` for lists."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def get(self, path: str, params: Any = None) -> Any:
        return _decode(await self.transport.request("GET", path, params=params))

    async def post(self, path: str, body: Any = None, *, idempotency_key: str | None = None, params: Any = None) -> Any:
        response = await self.transport.request("POST", path, json=body, idempotency_key=idempotency_key, params=params)
        return _decode(response)

    async def patch(self, path: str, body: Any) -> Any:
        return _decode(await self.transport.request("PATCH", path, json=body))

    async def delete(self, path: str, params: Any = None) -> Any:
        return _decode(await self.transport.request("DELETE", path, params=params))

    async def page(
        self,
        path: str,
        decode: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        limit: int = 50,
        offset: int = 0,
        aliases: bool = True,
    ) -> Page[T]:
        """One page. ``limit``/``offset`` go out as ``limit``/``skip`` where the route has those
        aliases, else as ``per_page``/``page`` (then ``offset`` must be a multiple of ``limit``)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
        if offset < 0:
            raise InvalidInputError(f"offset must be 0 or more, not {offset}")
        query: list[tuple[str, Any]] = list(params.items() if isinstance(params, Mapping) else params or [])
        if aliases:
            query += [("limit", limit), ("skip", offset)]
        else:
            if offset % limit:
                raise InvalidInputError(f"offset {offset} must be a multiple of limit {limit} on {path}")
            query += [("per_page", limit), ("page", offset // limit + 1)]
        return await self._page_at(path, query, decode, limit, offset)

    async def next_page(self, page: Page[T], decode: Callable[[Any], T]) -> Page[T] | None:
        """The page after ``page``, following its ``Link: rel="next"``, or None at the end."""
        if page.next_url is None:
            return None
        return await self._page_at(page.next_url, None, decode, page.limit, page.offset + len(page.items))

    async def _page_at(
        self, path: str, query: list[tuple[str, Any]] | None, decode: Callable[[Any], T], limit: int, offset: int
    ) -> Page[T]:
        response = await self.transport.request("GET", path, params=query)
        body = _decode(response)
        if not isinstance(body, list):
            raise TransportError(f"expected a JSON array from {path}, got {type(body).__name__}")
        total_header = response.headers.get("x-total-count")
        total = int(total_header) if total_header and total_header.isdigit() else None
        return Page(
            items=[decode(item) for item in body],
            total=total,
            offset=offset,
            limit=limit,
            next_url=_next_link(response.headers.get("link")) if body else None,
        )

    async def iterate(
        self,
        path: str,
        decode: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        page_size: int = 100,
        aliases: bool = True,
    ) -> AsyncGenerator[T, None]:
        """Every item of a list, page by page, until the server says there is no next page."""
        page: Page[T] | None = await self.page(path, decode, params=params, limit=page_size, aliases=aliases)
        while page is not None:
            for item in page.items:
                yield item
            page = await self.next_page(page, decode)

    async def all(
        self,
        path: str,
        decode: Callable[[Any], T],
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        aliases: bool = True,
    ) -> list[T]:
        return [item async for item in self.iterate(path, decode, params=params, page_size=MAX_PAGE, aliases=aliases)]
