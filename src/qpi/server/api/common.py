"""Shared pieces of the route modules: caller, roles, pagination, sorting, timestamps."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler

from qpi.errors import AuthenticationError, BadRequestError, PermissionDeniedError
from qpi.server.auth.principal import Principal
from qpi.server.clock import to_us
from qpi.server.context import ServerContext

__all__ = [
    "SUPERUSER",
    "USER",
    "Page",
    "caller",
    "ctx_of",
    "fmt_ts",
    "page_headers",
    "parse_after",
    "parse_bool",
    "parse_page",
    "parse_sort",
    "parse_ts",
    "require_superuser",
]

_NAIVE_EPOCH = datetime(1970, 1, 1)
_TS_WITH_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def ctx_of(request: Request[Any, Any, State]) -> ServerContext:
    ctx: ServerContext = request.app.state["ctx"]
    return ctx


def caller(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise AuthenticationError("sign in or send an API token (X-API-Token) to use this route")
    return principal


def maybe_caller(request: Request[Any, Any, State]) -> Principal | None:
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    return principal


def require_superuser(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = caller(request)
    if not principal.is_superuser:
        raise PermissionDeniedError("this route is for superusers only")
    return principal


async def _user_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    caller(connection)


async def _superuser_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    require_superuser(connection)


# Route guards: they answer 401/403 before the body is parsed (api.md §1.4, §3.3 check 1), so a
# caller who may not use a route never learns how its body is validated. Async, because Litestar
# runs a sync guard in a worker thread: a thread hop on every request.
USER = [_user_guard]
SUPERUSER = [_superuser_guard]


def fmt_ts(us: int | None) -> str | None:
    """RFC 3339 UTC with milliseconds and ``Z`` (``api.md`` §1.6)."""
    if us is None:
        return None
    return (_NAIVE_EPOCH + timedelta(microseconds=us)).isoformat(timespec="milliseconds") + "Z"


def parse_ts(value: str, field: str) -> int:
    text = value.strip()
    if not _TS_WITH_OFFSET.search(text):
        raise BadRequestError(
            f"{field} must be an RFC 3339 timestamp with an offset, e.g. 2026-07-24T10:04:05Z", field=field
        )
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace(" ", "T"))
    except ValueError as exc:
        raise BadRequestError(f"{field} is not a valid RFC 3339 timestamp: {value!r}", field=field) from exc
    return to_us(parsed.astimezone(UTC))


def parse_after(value: str, field: str) -> int:
    """A ``created_after`` bound: served timestamps have millisecond precision, so "after T" means
    from the next millisecond on (a record whose served ``created`` is T is not after T)."""
    return parse_ts(value, field) // 1000 * 1000 + 999


def parse_bool(value: str | None, field: str) -> bool | None:
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    raise BadRequestError(f"{field} must be true or false, not {value!r}", field=field)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    page: int
    per_page: int


def parse_page(request: Request[Any, Any, State], *, aliases: bool) -> Page:
    """``page``/``per_page`` (1..500), or with ``aliases`` the parity ``skip``/``limit`` (§1.5)."""
    q = request.query_params
    has_page = "page" in q or "per_page" in q
    has_alias = "skip" in q or "limit" in q
    if has_alias and not aliases:
        raise BadRequestError("this list takes page and per_page, not skip and limit", code="invalid_request")
    if has_page and has_alias:
        raise BadRequestError("use either page/per_page or skip/limit, not both", field="skip")
    if has_alias:
        skip = _int(q.get("skip", "0"), "skip", 0, 10**12)
        limit = _int(q.get("limit", "0"), "limit", 0, 500) or 50
        return Page(limit=limit, offset=skip, page=skip // limit + 1, per_page=limit)
    page = _int(q.get("page", "1"), "page", 1, 10**9)
    per_page = _int(q.get("per_page", "50"), "per_page", 1, 500)
    return Page(limit=per_page, offset=(page - 1) * per_page, page=page, per_page=per_page)


def _int(value: str, field: str, lo: int, hi: int) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise BadRequestError(f"{field} must be an integer, not {value!r}", field=field) from exc
    if not lo <= number <= hi:
        raise BadRequestError(f"{field} must be between {lo} and {hi}", field=field)
    return number


def parse_sort(value: str | None, allowed: tuple[str, ...], default: str) -> list[tuple[str, bool]]:
    """``sort=a,-b`` → ``[("a", False), ("b", True)]`` (True = descending)."""
    out: list[tuple[str, bool]] = []
    for part in (value or default).split(","):
        part = part.strip()
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in allowed:
            raise BadRequestError(
                f"cannot sort by {name!r}; allowed: {', '.join(allowed)}", code="invalid_sort", field="sort"
            )
        out.append((name, desc))
    return out


def parse_list(query: Any, name: str) -> tuple[str, ...]:
    """Every value of a repeatable, comma-separated query parameter (``tag=a,b&tag=c``), in order."""
    return tuple(item for value in query.getall(name, []) for item in value.split(",") if item)


def check_query(request: Request[Any, Any, State], allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed - {"page", "per_page", "skip", "limit", "sort"})
    if unknown:
        listing = ", ".join(sorted(allowed | {"page", "per_page", "sort"}))
        raise BadRequestError(f"unknown query parameter {unknown[0]!r}; allowed: {listing}", field=unknown[0])


def page_headers(request: Request[Any, Any, State], page: Page, total: int) -> dict[str, str]:
    pages = max(1, math.ceil(total / page.per_page)) if page.per_page else 1
    base = str(request.url).split("?")[0]
    # every value of repeated filters (tag=a&tag=b) is kept, so the links select the same rows
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in {"page", "per_page", "skip", "limit"}]

    def link(n: int, rel: str) -> str:
        return f'<{base}?{urlencode([*params, ("page", n), ("per_page", page.per_page)])}>; rel="{rel}"'

    links = [link(1, "first")]
    if page.page > 1:
        links.append(link(page.page - 1, "prev"))
    if page.page < pages:
        links.append(link(page.page + 1, "next"))
    links.append(link(pages, "last"))
    return {
        "X-Total-Count": str(total),
        "X-Page": str(page.page),
        "X-Per-Page": str(page.per_page),
        "X-Total-Pages": str(pages),
        "Link": ", ".join(links),
    }


def seconds(ms: int | None) -> float | None:
    return None if ms is None else round(ms / 1000.0, 3)


def to_ms(seconds_value: float) -> int:
    return round(seconds_value * 1000)
