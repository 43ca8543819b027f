"""Shared fixtures: real SQLite files and a throwaway PostgreSQL database, a running app, users.

PostgreSQL: ``QPI_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names
an admin connection; one database ``qpi_test_<pid>_<random>`` is created per test run and dropped
at the end, and its tables are emptied before each test that uses it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest

from support import Account, add_api_token, create_qpu

PG_ADMIN_URL = os.environ.get("QPI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("both", "sqlite", "postgres"),
        default="both",
        help="which database engines the store-backed tests run on (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        engines = ["sqlite", "postgres"] if choice == "both" else [choice]
        metafunc.parametrize("database_url", engines, indirect=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _with_db(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run."""
    name = f"qpi_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_db(PG_ADMIN_URL, name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('qpi_migrations', 'qpi_meta')"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await conn.execute(f"TRUNCATE {names} CASCADE")
    finally:
        await conn.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using it runs twice: on a temporary SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'qpi.sqlite3'}"
        return
    url = request.getfixturevalue("pg_url")
    asyncio.run(empty_postgres(url))
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'qpi.sqlite3'}"


def serve_config(data_dir: Path, database_url: str | None = None, **options: Any) -> Any:
    """A ``ServeConfig`` built by the real loader, as ``qpi serve`` would build it."""
    from qpi.config import load_config

    cli: dict[str, Any] = {"data_dir": str(data_dir), **options}
    if database_url is not None:
        cli["database_url"] = database_url
    return load_config("serve", cli, {}, cwd=data_dir).config


@dataclass
class App:
    client: Any
    ctx: Any
    server: Any

    async def user(self, *, role: str = "user", seconds: float = 100.0, email: str | None = None) -> Account:
        from qpi.server.api.users import create_user

        email = email or f"{role}-{secrets.token_hex(4)}@example.org"
        password = "password-" + secrets.token_hex(4)
        user, _ = await create_user(
            self.ctx,
            email=email,
            name=email.split("@")[0],
            password=password,
            role=role,
            qpu_seconds=seconds,
            actor=None,
        )
        token = await add_api_token(self.ctx, user.id)
        return Account(id=user.id, email=email, password=password, token=token)

    async def qpu(self, admin: Account, name: str = "sim", **fields: Any) -> dict[str, Any]:
        return await create_qpu(self.client, admin, {"name": name, "num_qubits": 5, **fields})


@pytest.fixture
async def app(tmp_path: Path, database_url: str) -> AsyncIterator[App]:
    """The real app on a real database (both engines), through Litestar's test client."""
    async with running_app(tmp_path, database_url) as value:
        yield value


@pytest.fixture
async def sqlite_app(tmp_path: Path, sqlite_url: str) -> AsyncIterator[App]:
    async with running_app(tmp_path, sqlite_url) as value:
        yield value


from contextlib import asynccontextmanager  # noqa: E402


@asynccontextmanager
async def running_app(tmp_path: Path, database_url: str, **options: Any) -> AsyncIterator[App]:
    import httpx

    from qpi.server.runtime import Server

    options.setdefault("rate_limit", "0")  # tests that check limits turn them on explicitly
    options.setdefault("submit_rate_limit", "0")
    config = serve_config(tmp_path / "data", database_url, **options)
    # The app's lifespan runs in this event loop (Litestar's own test client runs it in a
    # portal thread, where asyncpg connections of this loop cannot be used).
    async with Server(config) as server, server.app.lifespan():
        transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield App(client=client, ctx=server.ctx, server=server)
