"""Checks 2–5 of a job submission (``api.md`` §3.3) and ``Idempotency-Key`` (§1.7), as ASGI middleware.

They must answer before the body's shape is checked (check 6), so they run here, in front of the
router: body size, submit rate and pending-job cap, the idempotency key (replaying a stored answer
byte for byte with ``Idempotent-Replayed: true``), then the balance. The same idempotency logic
serves ``POST /api/jobs/{id}/cancel``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPReceiveMessage, Message, Receive, Scope, Send

from qpi.errors import (
    APIError,
    BadRequestError,
    InsufficientBalanceError,
    PayloadTooLargeError,
    RateLimitedError,
    StoreError,
    UnavailableError,
)
from qpi.server.api.middleware import error_response_parts, send_error, send_response
from qpi.server.auth.principal import Principal
from qpi.server.context import ServerContext

__all__ = ["SubmitGuard"]

logger = logging.getLogger(__name__)

_CANCEL = re.compile(r"^/api/jobs/[^/]+/cancel$")
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class SubmitGuard:
    def __init__(self, app: ASGIApp, ctx: ServerContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        is_submit = path == "/api/jobs"
        if not is_submit and not _CANCEL.match(path):
            await self.app(scope, receive, send)
            return
        state = scope.get("state", {})
        principal: Principal | None = state.get("principal")
        request_id: str = state.get("request_id", "")
        if principal is None:  # the route answers 401
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(scope, receive)
            if is_submit:
                await self._check_rate(principal)
            key = _header(scope, b"idempotency-key")
            stored_key: str | None = None
            if key is not None:
                if not _KEY.match(key):
                    raise BadRequestError(
                        "Idempotency-Key must be 1 to 255 visible ASCII characters", code="invalid_idempotency_key"
                    )
                fingerprint = hashlib.sha256(b"POST " + path.encode() + b"\n" + body).hexdigest()
                stored = await self.ctx.store.idempotency.begin(
                    user_id=principal.id, key=key, fingerprint=fingerprint, now=self.ctx.clock.now_us()
                )
                if stored is not None:
                    await _send(send, stored.status, stored.body, stored.content_type, request_id, replayed=True)
                    return
                stored_key = key
            if is_submit and not principal.is_superuser and principal.user.balance_ms <= 0:
                error: APIError = InsufficientBalanceError()
                if stored_key is not None:
                    status, _headers, payload = error_response_parts(error, request_id)
                    await self._finish(principal, stored_key, status, payload, "application/json")
                await send_error(send, error, request_id)
                return
        except APIError as exc:
            await send_error(send, exc, request_id)
            return
        except StoreError:
            logger.exception("request_id=%s database unavailable", request_id)
            await send_error(send, UnavailableError("the database is unavailable; retry shortly"), request_id)
            return
        await self._forward(scope, body, send, principal, stored_key)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.ctx.config.max_body_size
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect; an HTTP scope receives nothing else
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"the request body is larger than the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _check_rate(self, principal: Principal) -> None:
        wait = self.ctx.limits.submit.take(f"submit:{principal.id}")
        if wait > 0:
            raise RateLimitedError(
                f"too many submissions; at most {self.ctx.config.submit_rate_limit:g} jobs per second are accepted",
                retry_after=wait,
            )
        cap = self.ctx.config.max_pending_jobs_per_user
        if cap:
            pending = await self.ctx.store.jobs.pending_count_for_owner(principal.id)
            if pending >= cap:
                raise RateLimitedError(
                    f"you already have {pending} pending jobs, the limit is {cap}; wait or cancel some",
                    code="too_many_pending_jobs",
                    retry_after=5,
                )

    async def _forward(self, scope: Scope, body: bytes, send: Send, principal: Principal, key: str | None) -> None:
        sent = False

        async def replay_receive() -> HTTPReceiveMessage:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        if key is None:
            await self.app(scope, replay_receive, send)
            return
        captured: dict[str, Any] = {"status": 500, "content_type": "application/json", "body": []}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        finally:
            await self._finish(
                principal, key, int(captured["status"]), b"".join(captured["body"]), str(captured["content_type"])
            )

    async def _finish(self, principal: Principal, key: str, status: int, body: bytes, content_type: str) -> None:
        expires = self.ctx.clock.now_us() + int(self.ctx.config.idempotency_ttl * 1_000_000)
        try:
            await self.ctx.store.idempotency.finish(
                user_id=principal.id,
                key=key,
                status=status,
                body=body,
                content_type=content_type,
                expires_at=expires,
            )
        except StoreError:
            logger.exception("could not store the idempotent response of key %s", key)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send(send: Send, status: int, body: bytes, content_type: str, request_id: str, *, replayed: bool) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"x-request-id", request_id.encode()),
        (b"cache-control", b"no-store"),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
        if status == 201:  # a replayed submit points at the job it created, as the first answer did
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                headers.append((b"location", f"/api/jobs/{json.loads(body)['id']}".encode()))
    await send_response(send, status, headers, body)
