"""Helpers shared by the suites that run the real app: accounts with API tokens, the one error shape,
QPUs created through the API, row counts and the ledger invariant.

Imported as ``support`` (``tests`` is on ``pythonpath``); the suites' conftests wrap these in their own
fixtures (``app`` in ``tests/conftest.py``, ``kit`` in ``integration/api``, ``res`` in
``integration/resources``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Account:
    """A user and one of its API tokens (``password`` is empty when the account has none)."""

    id: str
    email: str
    token: str
    password: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Token": self.token}


async def add_api_token(ctx: Any, user_id: str, *, name: str = "test", now: int | None = None) -> str:
    """A new API token of ``user_id``, written through the store; returns the raw token."""
    from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix

    raw = new_api_token()
    await ctx.store.credentials.create_token(
        user_id=user_id,
        name=name,
        token_hash=sha256_hex(raw),
        prefix=token_prefix(raw),
        expires_at=None,
        now=ctx.clock.now_us() if now is None else now,
        max_tokens=None,
    )
    return raw


async def store_account(
    ctx: Any,
    *,
    email: str,
    name: str,
    role: str,
    seconds: float,
    password_hash: str | None,
    password: str = "",
) -> Account:
    """A user written through the store (no password hashing at request time) with an API token."""
    now = ctx.clock.now_us()
    row = await ctx.store.users.create(
        email=email,
        name=name,
        password_hash=password_hash,
        role=role,
        balance_ms=round(seconds * 1000),
        now=now,
        actor=None,
    )
    token = await add_api_token(ctx, row.id, now=now)
    return Account(id=row.id, email=email, token=token, password=password)


def assert_error(
    r: httpx.Response, status: int, code: str, *, field: str | None = None, words: str | None = None
) -> dict[str, Any]:
    """Assert the one error shape (api.md §1.2) and return the body.

    ``field`` must be the body's ``field``; ``words`` must appear in its ``detail``.
    """
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
    if words is not None:
        assert words in body["detail"], body
    return body


async def create_qpu(client: httpx.AsyncClient, admin: Account, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/op/qpus/create`` as ``admin``; asserts 201 and returns the QPU."""
    r = await client.post("/api/op/qpus/create", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def count_rows(store: Any, table: str, where: str = "1 = 1", *args: Any) -> int:
    return int(await store.db.fetchval(f"SELECT COUNT(*) AS c FROM {table} WHERE {where}", *args))


async def assert_ledger_invariant(store: Any) -> None:
    """For every user, balance == SUM(ledger amounts) (api.md §4, scheduling.md A1b)."""
    balances = await store.ledger.balances()
    sums = await store.ledger.sums()
    assert balances == {u: sums.get(u, 0) for u in balances}
