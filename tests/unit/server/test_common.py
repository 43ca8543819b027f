"""Helpers shared by the route modules (``qpi.server.api.common``): timestamps, booleans, sorting,
pagination and its headers, query checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Request

from qpi.errors import BadRequestError
from qpi.server.api.common import (
    Page,
    check_query,
    fmt_ts,
    page_headers,
    parse_after,
    parse_bool,
    parse_page,
    parse_sort,
    parse_ts,
    seconds,
    to_ms,
)
from qpi.server.clock import to_us


def request(query: str = "", path: str = "/api/jobs") -> Request[Any, Any, Any]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"qpi.example.org")],
        "scheme": "https",
        "server": ("qpi.example.org", 443),
        "state": {},
    }
    return Request(scope)  # type: ignore[arg-type]


def test_fmt_ts_is_rfc3339_utc_milliseconds() -> None:
    us = to_us(datetime(2026, 7, 24, 10, 4, 5, 123456, tzinfo=UTC))
    assert fmt_ts(us) == "2026-07-24T10:04:05.123Z"
    assert fmt_ts(to_us(datetime(2026, 1, 1, tzinfo=UTC))) == "2026-01-01T00:00:00.000Z"
    assert fmt_ts(None) is None


def test_parse_ts() -> None:
    expected = to_us(datetime(2026, 7, 24, 10, 4, 5, 123000, tzinfo=UTC))
    for text in (
        "2026-07-24T10:04:05.123Z",
        "2026-07-24T12:04:05.123+02:00",
        "2026-07-24T10:04:05.123z",
        "2026-07-24 10:04:05.123Z",
        "2026-07-24T05:04:05.123-0500",
    ):
        assert parse_ts(text, "t") == expected, text
    for bad in ("2026-07-24T10:04:05", "yesterday", "2026-13-01T00:00:00Z", ""):
        with pytest.raises(BadRequestError) as info:
            parse_ts(bad, "created_after")
        assert info.value.field == "created_after" and info.value.status_code == 400


def test_parse_after_excludes_the_served_millisecond() -> None:
    created = to_us(datetime(2026, 7, 24, 10, 4, 5, 123456, tzinfo=UTC))
    bound = parse_after(fmt_ts(created) or "", "created_after")
    assert not created > bound  # the record whose served time is T is not "after T"
    assert created + 1000 > bound


def test_parse_bool() -> None:
    assert [parse_bool(v, "f") for v in ("true", "1", "Yes", "ON")] == [True] * 4
    assert [parse_bool(v, "f") for v in ("false", "0", "no", "off")] == [False] * 4
    assert parse_bool(None, "f") is None
    with pytest.raises(BadRequestError) as info:
        parse_bool("maybe", "enabled")
    assert info.value.field == "enabled"


def test_parse_sort() -> None:
    allowed = ("created", "name")
    assert parse_sort(None, allowed, "-created") == [("created", True)]
    assert parse_sort("name,-created", allowed, "-created") == [("name", False), ("created", True)]
    assert parse_sort(" name , ", allowed, "-created") == [("name", False)]
    with pytest.raises(BadRequestError) as info:
        parse_sort("password", allowed, "-created")
    assert info.value.code == "invalid_sort" and info.value.field == "sort"


def test_parse_page() -> None:
    assert parse_page(request(), aliases=False) == Page(limit=50, offset=0, page=1, per_page=50)
    assert parse_page(request("page=3&per_page=20"), aliases=False) == Page(limit=20, offset=40, page=3, per_page=20)
    assert parse_page(request("skip=30&limit=10"), aliases=True) == Page(limit=10, offset=30, page=4, per_page=10)
    assert parse_page(request("limit=0"), aliases=True).limit == 50  # 0 = the default page size
    for query, aliases in (
        ("page=0", False),
        ("per_page=501", False),
        ("per_page=x", False),
        ("skip=1", False),
        ("skip=-1", True),
        ("limit=501", True),
        ("page=1&skip=0", True),
        ("per_page=5&limit=5", True),
    ):
        with pytest.raises(BadRequestError):
            parse_page(request(query), aliases=aliases)


def test_page_headers_and_links() -> None:
    req = request("tag=a&tag=b&state=pending&page=2&per_page=10")
    headers = page_headers(req, parse_page(req, aliases=False), 35)
    assert (headers["X-Total-Count"], headers["X-Page"], headers["X-Per-Page"], headers["X-Total-Pages"]) == (
        "35",
        "2",
        "10",
        "4",
    )
    links = {}
    for part in headers["Link"].split(", "):
        url, rel = part.split("; ")
        links[rel.removeprefix('rel="').rstrip('"')] = url.strip("<>")
    assert set(links) == {"first", "prev", "next", "last"}
    for rel, page in (("first", "1"), ("prev", "1"), ("next", "3"), ("last", "4")):
        parts = urlsplit(links[rel])
        query = parse_qs(parts.query)
        assert parts.path == "/api/jobs" and query["page"] == [page] and query["per_page"] == ["10"]
        assert query["tag"] == ["a", "b"] and query["state"] == ["pending"]  # filters kept, repeated ones too
    first = page_headers(request(), Page(limit=50, offset=0, page=1, per_page=50), 0)
    assert first["X-Total-Pages"] == "1" and 'rel="prev"' not in first["Link"] and 'rel="next"' not in first["Link"]


def test_check_query() -> None:
    check_query(request("q=x&page=1&sort=-created"), {"q"})
    with pytest.raises(BadRequestError) as info:
        check_query(request("q=x&colour=red"), {"q"})
    assert info.value.field == "colour" and "colour" in info.value.detail


def test_seconds_and_milliseconds() -> None:
    assert to_ms(1.2345) == 1234 and to_ms(0.0005) == 0 and to_ms(1e9) == 1_000_000_000_000
    assert seconds(1500) == 1.5 and seconds(1) == 0.001 and seconds(None) is None
