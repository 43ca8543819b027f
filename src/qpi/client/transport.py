"""The one HTTP boundary of the client: httpx, retries with backoff, idempotency keys, error mapping.

httpx exceptions never leave this module: they become :class:`~qpi.client.errors.TransportError`
subclasses here (``raise … from exc``), and HTTP error answers become the
:class:`~qpi.errors.APIError` subclass of their status and code. The retry policy itself is the
pure :mod:`qpi.client.retry`.
"""

from __future__ import annotations

import enum
import logging
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

from qpi import __version__
from qpi.client.errors import (
    QPIError,
    RequestTimeoutError,
    ServerUnreachableError,
    TransportError,
    error_from_response,
    parse_retry_after,
)
from qpi.client.retry import Failure, retry_delay, should_retry_failure, should_retry_status
from qpi.client.settings import ClientSettings
from qpi.errors import ConfigError

__all__ = ["STREAM_IDLE_TIMEOUT", "Transport", "classify"]

logger = logging.getLogger(__name__)

#: A stream that sends neither data nor a keep-alive comment for this long counts as dropped.
STREAM_IDLE_TIMEOUT = 45.0
_CONNECT_TIMEOUT = 5.0

Sleep = Callable[[float], Awaitable[None]]


class _State(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


def classify(exc: httpx.HTTPError) -> Failure:
    """Why an httpx request produced no answer."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return Failure.TLS
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol):
        return Failure.CONNECT
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    return Failure.LOST


def _error_for(failure: Failure, exc: httpx.HTTPError, method: str, url: str, attempts: int) -> TransportError:
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if failure is Failure.TLS:
        return ServerUnreachableError(f"TLS failure talking to {url}: {exc}")
    if failure is Failure.CONNECT:
        return ServerUnreachableError(f"cannot reach the QPI server at {url}{tries}: {exc or type(exc).__name__}")
    if failure is Failure.TIMEOUT:
        return RequestTimeoutError(f"{method} {url} timed out{tries}")
    return TransportError(f"{method} {url}: the connection broke before the answer arrived{tries}: {exc}")


def _ssl_context(verify: object, url: str = "") -> bool | ssl.SSLContext:
    if verify is True and url.startswith("http://"):
        # A plain-HTTP server, no redirects followed: TLS is never used. A context without trust
        # anchors fails closed if it ever were, and skips loading the CA bundle (~40 ms per start).
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    path = Path(str(verify))
    context = httpx.create_ssl_context()  # the default trust store, plus the extra CA
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the CA file {str(path)!r}: {exc}") from exc
    return context


class Transport:
    """One ``httpx.AsyncClient`` and the retry loop around it. Refuses reuse once closed."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        if retries < 0:
            raise ConfigError("retries must be 0 or more")
        self.settings = settings
        self.retries = retries
        self._sleep: Sleep = sleep or anyio.sleep
        self._rand = rand or random.random
        self._token = settings.token
        self._state = _State.OPEN
        timeout = settings.timeout_detail or httpx.Timeout(
            settings.timeout, connect=min(_CONNECT_TIMEOUT, settings.timeout)
        )
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            timeout=timeout,
            verify=_ssl_context(settings.verify, settings.url) if transport is None else True,
            transport=transport,
            headers={"User-Agent": f"qpi-client/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    @property
    def url(self) -> str:
        return self.settings.url

    @property
    def token(self) -> str | None:
        return self._token

    def set_token(self, token: str | None) -> None:
        """Use another credential from now on (``qps_…`` session tokens go in ``Authorization``)."""
        self._token = token

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    def check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise QPIError("client is closed")

    async def aclose(self) -> None:
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        await self._http.aclose()

    def _headers(self, extra: Mapping[str, str] | None, idempotency_key: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self._token:
            if self._token.startswith("qps_"):
                headers["Authorization"] = f"Bearer {self._token}"
            else:
                headers["X-API-Token"] = self._token
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(extra or {})
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; a 2xx/3xx answer is returned read, anything else raises."""
        self.check_open()
        method = method.upper()
        sent_headers = self._headers(headers, idempotency_key)
        has_key = idempotency_key is not None
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, params=params, json=json, headers=sent_headers)
            except httpx.HTTPError as exc:
                failure = classify(exc)
                if attempt < self.retries and should_retry_failure(failure, method, has_key):
                    delay = retry_delay(attempt, None, self._rand)
                    logger.debug(
                        "%s %s: %s (%s); retry %d in %.2f s", method, path, failure.value, exc, attempt + 1, delay
                    )
                    attempt += 1
                    await self._sleep(delay)
                    continue
                raise _error_for(failure, exc, method, self._describe(path), attempt + 1) from exc
            if response.status_code < 400:
                return response
            if attempt < self.retries and should_retry_status(response.status_code, method, has_key):
                retry_after = parse_retry_after(response.headers)
                delay = retry_delay(attempt, retry_after, self._rand)
                logger.debug(
                    "%s %s: HTTP %d; retry %d in %.2f s", method, path, response.status_code, attempt + 1, delay
                )
                attempt += 1
                await self._sleep(delay)
                continue
            raise error_from_response(
                response.status_code, response.content, response.headers, method=method, url=self._describe(path)
            )

    def _describe(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.settings.url}{path}"

    @asynccontextmanager
    async def stream(
        self, path: str, *, params: Any = None, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """Open a long-lived GET (``text/event-stream``): no read limit beyond the idle timeout.

        Non-2xx answers raise their :class:`~qpi.errors.APIError`; transport failures raise
        :class:`~qpi.client.errors.TransportError` (including while the body is iterated).
        """
        self.check_open()
        sent_headers = self._headers({"Accept": "text/event-stream", **(headers or {})}, None)
        timeout = httpx.Timeout(
            STREAM_IDLE_TIMEOUT, connect=min(_CONNECT_TIMEOUT, self.settings.timeout), write=self.settings.timeout
        )
        request = self._http.build_request("GET", path, params=params, headers=sent_headers, timeout=timeout)
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _error_for(classify(exc), exc, "GET", self._describe(path), 1) from exc
        try:
            if response.status_code >= 400:
                body = await response.aread()
                raise error_from_response(
                    response.status_code, body, response.headers, method="GET", url=self._describe(path)
                )
            try:
                yield response
            except httpx.HTTPError as exc:
                raise _error_for(classify(exc), exc, "GET", self._describe(path), 1) from exc
        finally:
            await response.aclose()
