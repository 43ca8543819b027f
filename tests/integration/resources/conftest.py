"""Helpers of the bookings / time requests / notifications suite.

``res`` wraps the shared ``app`` fixture of ``tests/conftest.py`` (a real server on a temporary
SQLite file and on PostgreSQL). Accounts are made through the store with an API token and no
password, so a test can create several users without paying for password hashing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Token": self.token}


def error(r: httpx.Response, status: int, code: str, words: str | None = None) -> dict[str, Any]:
    """Assert the one error shape (api.md §1.2); ``words`` must appear in ``detail``."""
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["error"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    if words is not None:
        assert words in body["detail"], body
    return body


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
        from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix

        email = f"{name or role}-{secrets.token_hex(4)}@example.org"
        now = self.ctx.clock.now_us()
        row = await self.store.users.create(
            email=email,
            name=name or email.split("@")[0],
            password_hash=None,
            role=role,
            balance_ms=round(seconds * 1000),
            now=now,
            actor=None,
        )
        raw = new_api_token()
        await self.store.credentials.create_token(
            user_id=row.id,
            name="test",
            token_hash=sha256_hex(raw),
            prefix=token_prefix(raw),
            expires_at=None,
            now=now,
            max_tokens=None,
        )
        return Account(id=row.id, email=email, token=raw)

    async def qpu(self, admin: Account, name: str, **fields: Any) -> dict[str, Any]:
        body = {"name": name, "num_qubits": 5, "with_driver": False, **fields}
        r = await self.client.post("/api/op/qpus/create", json=body, headers=admin.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

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
        """POST a booking from ``start`` to ``end`` seconds from now."""
        return await self.post("/api/bookings", who, {"start_time": ts(start), "end_time": ts(end), **fields})

    async def events(self, who: Account, types: str) -> list[dict[str, Any]]:
        r = await self.get("/api/events", who, type=types, sort="id", per_page=500)
        assert r.status_code == 200, r.text
        return list(r.json())

    async def balance_ms(self, user_id: str) -> int:
        return int(await self.store.db.fetchval(f"SELECT balance_ms FROM {self.t.users} WHERE id = {{}}", user_id))

    async def count(self, table: str, where: str = "1 = 1", *args: Any) -> int:
        return int(await self.store.db.fetchval(f"SELECT COUNT(*) AS c FROM {table} WHERE {where}", *args))

    async def ledger_invariant(self) -> None:
        """For every user, balance == SUM(ledger amounts) (scheduling.md A1b)."""
        balances = await self.store.ledger.balances()
        sums = await self.store.ledger.sums()
        assert balances == {u: sums.get(u, 0) for u in balances}


@pytest.fixture
def res(app: Any) -> Res:
    return Res(app)
