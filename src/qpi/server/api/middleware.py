"""The ASGI layer in front of every route: request id, credentials, CSRF, media type, rate limit.

Errors raised here are answered in the one JSON error shape (``api.md`` §1.2) directly, since
they happen before routing.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from qpi.errors import (
    APIError,
    AuthenticationError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    StoreError,
    UnavailableError,
    UnsupportedMediaTypeError,
)
from qpi.server.context import ServerContext

__all__ = ["QpiMiddleware", "client_ip", "error_response_parts", "request_id_for", "send_error", "send_response"]

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes that need no user credential and are never rate limited or credential-checked.
_NO_AUTH = frozenset({"/api/health", "/api/ready", "/metrics", "/api/pub/root-ca.pem"})
_DRIVER_ROUTES = frozenset({"/api/op/drivers/connect", "/api/op/qpus/connect"})
_RAW_BODY = re.compile(r"^/api/themes/[^/]+/(logo|favicon)$")


def request_id_for(given: str) -> str:
    """The request id of a request: the client's ``X-Request-ID`` when valid, else a new one."""
    return given if _REQUEST_ID.match(given) else secrets.token_hex(8)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def client_ip(scope: Scope, headers: dict[str, str], trusted: tuple[str, ...]) -> str:
    peer = (scope.get("client") or ("0.0.0.0", 0))[0]
    forwarded = headers.get("x-forwarded-for")
    if forwarded and trusted:
        try:
            addr = ipaddress.ip_address(peer)
            if any(addr in ipaddress.ip_network(net, strict=False) for net in trusted):
                return forwarded.split(",")[0].strip()
        except ValueError:
            pass
    return str(peer)


def error_response_parts(exc: APIError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = msgspec.json.encode(exc.body())
    headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    return exc.status_code, headers, body


async def send_response(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Answer with one complete HTTP response, from the ASGI layer (before routing)."""
    await send(HTTPResponseStartEvent(type="http.response.start", status=status, headers=headers))
    await send(HTTPResponseBodyEvent(type="http.response.body", body=body, more_body=False))


async def send_error(send: Send, exc: APIError, request_id: str) -> None:
    """Answer with the one JSON error shape (``api.md`` §1.2)."""
    await send_response(send, *error_response_parts(exc, request_id))


class QpiMiddleware:
    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx
        public = urlsplit(ctx.config.public_url)
        self.own_origin = f"{public.scheme}://{public.netloc}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        request_id = request_id_for(headers.get("x-request-id", ""))
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["principal"] = None
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if path.startswith("/api/") and path not in _NO_AUTH and path not in _DRIVER_ROUTES:
                await self._authorize(scope, headers, state, path, method)
            self._check_media_type(headers, path, method)
        except APIError as exc:
            await send_error(send, exc, request_id)
            return
        except StoreError:
            logger.exception("request_id=%s database unavailable during authentication", request_id)
            await send_error(send, UnavailableError("the database is unavailable; retry shortly"), request_id)
            return
        authenticated = state["principal"] is not None

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"x-request-id", request_id.encode())]
                if authenticated:
                    extra.append((b"cache-control", b"no-store"))
                replaced = {b"x-request-id", b"cache-control"} if authenticated else {b"x-request-id"}
                message["headers"] = [h for h in message.get("headers", []) if h[0].lower() not in replaced] + extra
                self.ctx.metrics.http_requests.labels(method=method, status=str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _authorize(
        self, scope: Scope, headers: dict[str, str], state: dict[str, Any], path: str, method: str
    ) -> None:
        cookie_value = None
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:
                jar = SimpleCookie()
            if "qpi_session" in jar:
                cookie_value = jar["qpi_session"].value
        try:
            principal = await self.ctx.authenticator.authenticate(
                api_token=headers.get("x-api-token"), authorization=headers.get("authorization"), cookie=cookie_value
            )
        except AuthenticationError as exc:
            if cookie_value and not headers.get("x-api-token") and not headers.get("authorization"):
                # a dead session cookie: drop it, so the browser is anonymous (and can sign in) next time
                exc.headers.setdefault("Set-Cookie", "qpi_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
            raise
        state["principal"] = principal
        ip = client_ip(scope, headers, self.ctx.config.trusted_proxies)
        state["client_ip"] = ip
        if principal is not None and principal.via_cookie and method in _UNSAFE:
            self._check_csrf(headers, principal.csrf_token or "")
        limit = self.ctx.config.max_body_size
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:  # api.md §3.3: body size (2) before rate limits (3)
            raise PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")
        key = f"user:{principal.id}" if principal is not None else f"ip:{ip}"
        wait = self.ctx.limits.api.take(key)
        if wait > 0:
            raise RateLimitedError(
                f"too many requests; at most {self.ctx.config.rate_limit:g} per second are allowed",
                retry_after=wait,
            )

    def _check_csrf(self, headers: dict[str, str], expected: str) -> None:
        token = headers.get("x-csrf-token", "")
        if not expected or not secrets.compare_digest(token.encode(), expected.encode()):
            raise PermissionDeniedError(
                "missing or wrong X-CSRF-Token header for a cookie-authenticated request", code="csrf_failed"
            )
        origin = headers.get("origin")
        if origin:
            host_origin = f"{'https' if self.own_origin.startswith('https') else 'http'}://{headers.get('host', '')}"
            allowed = {self.own_origin, host_origin, *self.ctx.config.cors_origins}
            if origin.rstrip("/") not in allowed:
                raise PermissionDeniedError(f"requests from origin {origin} are not allowed", code="csrf_failed")

    @staticmethod
    def _check_media_type(headers: dict[str, str], path: str, method: str) -> None:
        if method not in {"POST", "PUT", "PATCH"} or not path.startswith("/api/"):
            return
        has_body = headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in headers
        if not has_body or _RAW_BODY.match(path):
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise UnsupportedMediaTypeError(
                f"request bodies must be application/json, not {media or 'missing'}",
            )
