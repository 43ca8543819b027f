"""The retry matrix (``client-and-cli.md`` §1.5): the pure policy, then the transport over a fake HTTP seam."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from qpi.client.errors import (
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
    TransportError,
    UnavailableError,
)
from qpi.client.retry import Failure, backoff_delay, retry_delay, should_retry_failure, should_retry_status
from qpi.client.settings import ClientSettings
from qpi.client.transport import Transport

# --- the pure policy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "method", "key", "retried"),
    [
        (Failure.CONNECT, "POST", False, True),
        (Failure.CONNECT, "GET", False, True),
        (Failure.TLS, "GET", False, False),
        (Failure.TIMEOUT, "GET", False, True),
        (Failure.TIMEOUT, "POST", False, False),
        (Failure.TIMEOUT, "POST", True, True),
        (Failure.LOST, "DELETE", False, True),
        (Failure.LOST, "PATCH", False, False),
        (Failure.LOST, "POST", True, True),
    ],
)
def test_failures(failure: Failure, method: str, key: bool, retried: bool) -> None:
    assert should_retry_failure(failure, method, key) is retried


@pytest.mark.parametrize(
    ("status", "method", "key", "retried"),
    [
        (503, "GET", False, True),
        (502, "PUT", False, True),
        (504, "HEAD", False, True),
        (429, "GET", False, True),
        (429, "POST", False, False),
        (429, "POST", True, True),
        (503, "POST", False, False),
        (500, "GET", False, False),
        (404, "GET", False, False),
        (409, "POST", True, False),
    ],
)
def test_statuses(status: int, method: str, key: bool, retried: bool) -> None:
    assert should_retry_status(status, method, key) is retried


def test_backoff_is_capped_full_jitter_and_retry_after_wins() -> None:
    assert [backoff_delay(n, lambda: 1.0) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay(3, lambda: 0.25) == 1.0
    assert retry_delay(0, 3.0, lambda: 1.0) == 3.0
    assert retry_delay(0, 600.0, lambda: 1.0) == 60.0


# --- the transport over httpx.MockTransport (a fake at the HTTP seam) ----------------------


def settings(timeout: float = 5.0) -> ClientSettings:
    return ClientSettings(url="http://qpi.test", token="qpi_t", profile="default", timeout=timeout, verify=True)


class Script:
    """Answers (or failures) in order, recording every request."""

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, httpx.Response)
        return step


def transport(script: Script, delays: list[float], retries: int = 3) -> Transport:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return Transport(settings(), retries=retries, transport=httpx.MockTransport(script), sleep=sleep, rand=lambda: 1.0)


@pytest.mark.anyio
async def test_connect_error_on_post_without_key_is_retried() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(201, json={"id": "j1"}))
    delays: list[float] = []
    t = transport(script, delays)
    response = await t.request("POST", "/api/jobs", json={})
    assert response.json() == {"id": "j1"}
    assert len(script.requests) == 2 and delays == [0.5]
    await t.aclose()


@pytest.mark.anyio
async def test_read_timeout_on_post_without_key_is_not_retried() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(201, json={}))
    t = transport(script, [])
    with pytest.raises(RequestTimeoutError):
        await t.request("POST", "/api/tokens", json={})
    assert len(script.requests) == 1
    await t.aclose()


@pytest.mark.anyio
async def test_read_timeout_on_post_with_key_is_retried_with_the_same_key() -> None:
    script = Script(httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("gone"), httpx.Response(201, json={}))
    t = transport(script, [])
    await t.request("POST", "/api/jobs", json={}, idempotency_key="k-1")
    assert [r.headers["Idempotency-Key"] for r in script.requests] == ["k-1"] * 3
    await t.aclose()


@pytest.mark.anyio
async def test_503_then_200_on_get_succeeds() -> None:
    script = Script(
        httpx.Response(503, json={"status": 503, "error": "unavailable", "detail": "db"}), httpx.Response(200, json=[])
    )
    delays: list[float] = []
    t = transport(script, delays)
    assert (await t.request("GET", "/api/jobs")).json() == []
    assert delays == [0.5]
    await t.aclose()


@pytest.mark.anyio
async def test_retries_run_out() -> None:
    down = {"status": 503, "error": "unavailable", "detail": "the database is unavailable"}
    script = Script(*[httpx.Response(503, json=down, headers={"Retry-After": "2"}) for _ in range(3)])
    delays: list[float] = []
    t = transport(script, delays, retries=2)
    with pytest.raises(UnavailableError, match="database is unavailable"):
        await t.request("GET", "/api/qpus")
    assert delays == [2.0, 2.0]
    unreachable = Script(*[httpx.ConnectError("refused") for _ in range(4)])
    t2 = transport(unreachable, [])
    with pytest.raises(ServerUnreachableError, match="after 4 attempts"):
        await t2.request("GET", "/api/qpus")
    await t.aclose()
    await t2.aclose()


@pytest.mark.anyio
async def test_500_and_other_4xx_are_never_retried() -> None:
    script = Script(httpx.Response(500, json={"status": 500, "error": "internal_error", "detail": "bug"}))
    t = transport(script, [])
    with pytest.raises(ServerError):
        await t.request("GET", "/api/jobs")
    assert len(script.requests) == 1
    await t.aclose()


@pytest.mark.anyio
async def test_lost_connection_on_patch_is_a_transport_error() -> None:
    script = Script(httpx.ReadError("reset"))
    t = transport(script, [])
    with pytest.raises(TransportError, match="broke"):
        await t.request("PATCH", "/api/tokens/x", json={})
    await t.aclose()


@pytest.mark.anyio
async def test_429_with_retry_after_1_waits_at_least_a_second(clean_env: Path) -> None:
    """Through the public client and the real clock: the delay is the server's, not the backoff."""
    from qpi.client import AsyncClient

    limited = {"status": 429, "error": "rate_limited", "detail": "slow down"}
    script = Script(
        httpx.Response(429, json=limited, headers={"Retry-After": "1"}), httpx.Response(200, json={"status": "ok"})
    )
    async with AsyncClient("http://qpi.test", transport=httpx.MockTransport(script)) as client:
        started = time.monotonic()
        assert await client.health() is True
        assert time.monotonic() - started >= 1.0
    assert len(script.requests) == 2


@pytest.mark.anyio
async def test_a_closed_transport_refuses_work() -> None:
    t = transport(Script(), [])
    await t.aclose()
    from qpi.errors import QPIError

    with pytest.raises(QPIError, match="client is closed"):
        await t.request("GET", "/api/health")


@pytest.mark.anyio
async def test_tokens_travel_in_the_right_header() -> None:
    script = Script(httpx.Response(200, json={}), httpx.Response(200, json={}))
    t = transport(script, [])
    await t.request("GET", "/api/auth/me")
    t.set_token("qps_session")
    await t.request("GET", "/api/auth/me")
    assert script.requests[0].headers["X-API-Token"] == "qpi_t"
    assert script.requests[1].headers["Authorization"] == "Bearer qps_session"
    assert "X-API-Token" not in script.requests[1].headers
    await t.aclose()
