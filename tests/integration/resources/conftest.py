"""Helpers of the bookings / time requests / notifications suite.

``res`` wraps the shared ``app`` fixture of ``tests/conftest.py`` (a real server on a temporary
SQLite file and on PostgreSQL). Accounts are made through the store with an API token and no
password, so a test can create several users without paying for password hashing.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import Account, assert_error, assert_ledger_invariant, count_rows, create_qpu, store_account


def error(r: httpx.Response, status: int, code: str, words: str | None = None) -> dict[str, Any]:
    """Assert the one error shape (api.md §1.2); ``words`` must appear in ``detail``."""
    return assert_error(r, status, code, words=words)


def ts(offset_s: float = 0.0, *, base: datetime | None = None) -> str:
    """An RFC 3339 timestamp ``offset_s`` seconds from now (or from ``base``)."""
    moment = (base or datetime.now(UTC)) + timedelta(seconds=offset_s)
    return moment.isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Res:
    error = staticmethod(error)
    ts = staticmethod(ts)
    parse = staticmethod(parse)

    def __init__(self, app: Any) -> None:
        self.client: httpx.AsyncClient = app.client
        self.ctx = app.ctx
        self.store = app.ctx.store
        self.t = app.ctx.store.names
        self.woken: list[str] = []
        app.ctx.hub.on_wake(self.woken.append)

    async def user(self, *, role: str = "user", seconds: float = 100.0, name: str | None = None) -> Account:
        email = f"{name or role}-{secrets.token_hex(4)}@example.org"
        return await store_account(
            self.ctx, email=email, name=name or email.split("@")[0], role=role, seconds=seconds, password_hash=None
        )

    async def qpu(self, admin: Account, name: str, **fields: Any) -> dict[str, Any]:
        return await create_qpu(self.client, admin, {"name": name, "num_qubits": 5, "with_driver": False, **fields})

    async def get(self, path: str, who: Account, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=who.headers)

    async def post(self, path: str, who: Account, body: Any = None) -> httpx.Response:
        if body is None:
            return await self.client.post(path, headers=who.headers)
        return await self.client.post(path, json=body, headers=who.headers)

    async def patch(self, path: str, who: Account, body: Any) -> httpx.Response:
        return await self.client.patch(path, json=body, headers=who.headers)

    async def delete(self, path: str, who: Account) -> httpx.Response:
        return await self.client.delete(path, headers=who.headers)

    async def book(self, who: Account, start: float, end: float, **fields: Any) -> httpx.Response:
        """POST a booking from ``start`` to ``end`` seconds from now (one "now" for both ends)."""
        now = datetime.now(UTC)
        body = {"start_time": ts(start, base=now), "end_time": ts(end, base=now), **fields}
        return await self.post("/api/bookings", who, body)

    async def events(self, who: Account, types: str) -> list[dict[str, Any]]:
        r = await self.get("/api/events", who, type=types, sort="id", per_page=500)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def balance_ms(self, user_id: str) -> int:
        return int(await self.store.db.fetchval(f"SELECT balance_ms FROM {self.t.users} WHERE id = {{}}", user_id))

    async def count(self, table: str, where: str = "1 = 1", *args: Any) -> int:
        return await count_rows(self.store, table, where, *args)

    async def ledger_invariant(self) -> None:
        """For every user, balance == SUM(ledger amounts) (scheduling.md A1b)."""
        await assert_ledger_invariant(self.store)


@pytest.fixture
def res(app: Any) -> Res:
    return Res(app)
