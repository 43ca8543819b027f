"""Helpers of the HTTP API suite.

``kit`` wraps the shared ``app`` fixture (a SQLite file and PostgreSQL); ``sqlite_kit`` runs once,
for behaviour the database engine plays no part in. ``make_kit(**options)`` /
``make_sqlite_kit(**options)`` start an app with extra server options (``max_body_size="1KiB"``…)
and optionally a :class:`FakeClock`, so no test sleeps for time to pass.

``kit.user()`` registers an account through the store with a cheap argon2id hash computed once per
run (the server's own parameters cost ~0.15 s a hash on the CI machine), so tests create several
users and sign in cheaply; the password is :data:`PASSWORD`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import Account, assert_error, assert_ledger_invariant, count_rows, create_qpu, store_account

PASSWORD = "correct-horse-battery"

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'
BELL3 = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;'


@cache
def password_hash() -> str:
    """A real argon2id hash of :data:`PASSWORD` with cheap parameters: the server verifies it with
    the parameters stored in the hash, so sign-in tests do not pay ~0.15 s per attempt."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@dataclass(frozen=True)
class Session:
    raw: str
    csrf: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.raw}"}


class FakeClock:
    """Wall clock and monotonic clock that move only when a test says so (starts at real time)."""

    def __init__(self) -> None:
        import time

        self._now_us = time.time_ns() // 1000
        self._mono = 1000.0

    def now_us(self) -> int:
        return self._now_us

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now_us += int(seconds * 1_000_000)
        self._mono += seconds


def error(r: httpx.Response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Assert the one error shape (api.md §1.2) and return the body; ``field`` must be its ``field``."""
    return assert_error(r, status, code, field=field)


class Kit:
    BELL = BELL
    BELL3 = BELL3
    error = staticmethod(error)

    def __init__(self, client: httpx.AsyncClient, ctx: Any, server: Any, clock: FakeClock | None = None) -> None:
        self.client = client
        self.ctx = ctx
        self.server = server
        self.clock = clock
        self.store = ctx.store
        self.t = ctx.store.names  # table names

    # --- accounts -------------------------------------------------------------------------

    async def user(self, *, role: str = "user", seconds: float = 100.0, email: str | None = None) -> Account:
        email = email or f"{role}-{secrets.token_hex(4)}@example.org"
        return await store_account(
            self.ctx,
            email=email,
            name=email.split("@")[0],
            role=role,
            seconds=seconds,
            password_hash=password_hash(),
            password=PASSWORD,
        )

    async def session(self, account: Account) -> Session:
        """A signed-in session, made through the store (no password hashing)."""
        from qpi.server.auth.secrets import new_csrf_token, new_session_token, sha256_hex

        raw, csrf = new_session_token(), new_csrf_token()
        now = self.ctx.clock.now_us()
        await self.store.credentials.create_session(
            user_id=account.id,
            token_hash=sha256_hex(raw),
            csrf_token=csrf,
            expires_at=now + 3600 * 1_000_000,
            max_expires_at=now + 86400 * 1_000_000,
            now=now,
            ip="127.0.0.1",
            user_agent="tests",
        )
        return Session(raw=raw, csrf=csrf)

    # --- resources through the API ----------------------------------------------------------

    async def qpu(self, admin: Account, name: str = "sim", **fields: Any) -> dict[str, Any]:
        return await create_qpu(self.client, admin, {"name": name, "num_qubits": 5, "with_driver": False, **fields})

    async def submit(self, account: Account, body: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:
        payload = body if body is not None else {"circuits": [{"circuit": BELL}], "qpu_target": "sim", **fields}
        r: httpx.Response = await self.client.post("/api/jobs", json=payload, headers=account.headers)
        return r

    async def job(self, account: Account, **fields: Any) -> dict[str, Any]:
        r = await self.submit(account, **fields)
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def open_stream(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        """Call a streaming route (SSE) through the ASGI app: the status and, for an error, the body.

        httpx's ASGI transport waits for the whole body, which never ends on an event stream; this
        returns once the response has started (success) or finished (error), then disconnects.
        """
        import anyio

        started, finished, leave = anyio.Event(), anyio.Event(), anyio.Event()
        status: list[int] = []
        body: list[bytes] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await leave.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
                started.set()
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        async with anyio.create_task_group() as tg:
            tg.start_soon(self.server.app, scope, receive, send)
            with anyio.fail_after(10):
                await started.wait()
                if status[0] >= 300:
                    await finished.wait()
            leave.set()
            tg.cancel_scope.cancel()
        return status[0], b"".join(body)

    # --- direct database access (state a test must set, counts it must check) ---------------

    async def count(self, table: str, where: str = "1 = 1", *args: Any) -> int:
        return await count_rows(self.store, table, where, *args)

    async def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return list(await self.store.db.fetch(sql, *args))

    async def execute(self, sql: str, *args: Any) -> None:
        await self.store.db.execute(sql, *args)

    async def counts(self) -> dict[str, int]:
        """Rows of every table a rejected request must leave alone."""
        t = self.t
        tables = (t.jobs, t.job_tags, t.users, t.api_tokens, t.sessions, t.qpus, t.drivers, t.ledger, t.idempotency)
        return {name: await self.count(name) for name in tables}

    async def set_job(self, job_id: str, **cols: Any) -> None:
        sets = ", ".join(f"{k} = {{}}" for k in cols)
        await self.execute(f"UPDATE {self.t.jobs} SET {sets} WHERE id = {{}}", *cols.values(), job_id)

    async def set_device(self, qpu_id: str, info: dict[str, Any]) -> None:
        from qpi.server.store.common import json_dumps

        await self.store.qpus.set_device_info(qpu_id, json_dumps(info), now=self.ctx.clock.now_us())

    async def driver_online(self, qpu_id: str) -> None:
        """Mark the QPU's drivers online, as a Hello over the link would."""
        await self.execute(f"UPDATE {self.t.drivers} SET status = 'online' WHERE qpu_id = {{}}", qpu_id)
        await self.store.qpus.refresh_status(qpu_id, now=self.ctx.clock.now_us())

    async def charge(self, user_id: str, job_id: str, ms: int, attempt: int = 1) -> None:
        """A usage entry, as the result path writes it (simulates a charged attempt)."""
        async with self.store.db.transaction():
            await self.store.ledger.apply(
                user_id=user_id,
                kind="usage",
                amount_ms=-ms,
                now=self.ctx.clock.now_us(),
                job_id=job_id,
                attempt=attempt,
            )

    async def ledger_invariant(self) -> None:
        """For every user, balance == SUM(ledger amounts) (api.md §4)."""
        await assert_ledger_invariant(self.store)


@asynccontextmanager
async def open_kit(
    tmp_path: Path, database_url: str, *, clock: FakeClock | None = None, **options: Any
) -> AsyncIterator[Kit]:
    from qpi.config import load_config
    from qpi.server.runtime import Server

    options.setdefault("rate_limit", "0")
    options.setdefault("submit_rate_limit", "0")
    data_dir = tmp_path / f"data-{secrets.token_hex(3)}"
    cli: dict[str, Any] = {"data_dir": str(data_dir), "database_url": database_url, **options}
    config = load_config("serve", cli, {}, cwd=data_dir).config
    async with Server(config, clock=clock) as server:
        assert server.app is not None
        async with server.app.lifespan():
            transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                yield Kit(client, server.ctx, server, clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kit(app: Any) -> Kit:
    """The shared ``app`` fixture (SQLite file and PostgreSQL) with the helpers above."""
    return Kit(app.client, app.ctx, app.server)


@pytest.fixture
def sqlite_kit(sqlite_app: Any) -> Kit:
    """For behaviour that does not involve the database engine (routing, headers, documents): runs once."""
    return Kit(sqlite_app.client, sqlite_app.ctx, sqlite_app.server)


@pytest.fixture
def make_sqlite_kit(tmp_path: Path, sqlite_url: str) -> Callable[..., AbstractAsyncContextManager[Kit]]:
    """Like ``make_kit``, on SQLite only: for in-memory limiters and options the engine plays no part in."""

    def factory(*, clock: FakeClock | None = None, **options: Any) -> AbstractAsyncContextManager[Kit]:
        return open_kit(tmp_path, sqlite_url, clock=clock, **options)

    return factory


@pytest.fixture
def make_kit(tmp_path: Path, database_url: str) -> Callable[..., AbstractAsyncContextManager[Kit]]:
    """``async with make_kit(max_body_size="1KiB") as kit:`` — an app with extra options (and
    optionally a :class:`FakeClock`). Do not combine with ``kit``/``app`` in one test."""

    def factory(*, clock: FakeClock | None = None, **options: Any) -> AbstractAsyncContextManager[Kit]:
        return open_kit(tmp_path, database_url, clock=clock, **options)

    return factory
