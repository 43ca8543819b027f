"""Response bodies shared by several route modules, and the error body of every route."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from qpi.server.api.common import fmt_ts, seconds
from qpi.server.store import LedgerRow, TokenRow, UserRow

__all__ = [
    "ErrorBody",
    "LedgerEntryOut",
    "QpuRef",
    "TokenOut",
    "UserOut",
    "errors",
    "ledger_out",
    "token_out",
    "user_out",
]


class ErrorBody(msgspec.Struct):
    """The one error shape (``api.md`` §1.2)."""

    status: int
    error: str
    detail: str
    field: str | None = None


_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Idempotency key reused",
    429: "Rate limited",
    503: "Unavailable",
}


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses of a route (400, 401, 413, 415, 429 are always added).

    400 is always listed in the one error shape: otherwise Litestar documents its own validation
    body for routes with parameters, which is not what the server sends.
    """
    codes = sorted({*statuses, 400, 401, 413, 415, 429})
    return {
        code: ResponseSpec(
            data_container=ErrorBody,
            description=_DESCRIPTIONS.get(code, "Error"),
            examples=[Example(value={"status": code, "error": "…", "detail": "…"})],
        )
        for code in codes
    }


class QpuRef(msgspec.Struct):
    """A QPU as other records name it; ``id`` is null once the QPU is deleted."""

    id: str | None
    name: str | None


class UserOut(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str
    disabled: bool
    qpu_seconds: float
    unlimited: bool
    created: str | None
    updated: str | None
    last_login_at: str | None


def user_out(user: UserRow) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        disabled=user.disabled,
        qpu_seconds=seconds(user.balance_ms) or 0.0,
        unlimited=user.role == "superuser",
        created=fmt_ts(user.created),
        updated=fmt_ts(user.updated),
        last_login_at=fmt_ts(user.last_login_at),
    )


class TokenOut(msgspec.Struct):
    id: str
    name: str
    prefix: str
    created: str | None
    expires_at: str | None
    last_used_at: str | None


def token_out(token: TokenRow) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created=fmt_ts(token.created),
        expires_at=fmt_ts(token.expires_at),
        last_used_at=fmt_ts(token.last_used_at),
    )


class LedgerEntryOut(msgspec.Struct):
    id: str
    user: str | None
    kind: str
    amount: float
    balance_after: float
    job: str | None
    attempt: int | None
    time_request: str | None
    actor: str | None
    reason: str
    created: str | None


def ledger_out(entry: LedgerRow) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=entry.id,
        user=entry.user_id,
        kind=entry.kind,
        amount=seconds(entry.amount_ms) or 0.0,
        balance_after=seconds(entry.balance_after_ms) or 0.0,
        job=entry.job_id,
        attempt=entry.attempt,
        time_request=entry.time_request_id,
        actor=entry.actor,
        reason=entry.reason,
        created=fmt_ts(entry.created),
    )


def as_dict(obj: Any) -> dict[str, Any]:
    return msgspec.to_builtins(obj)  # type: ignore[no-any-return]
