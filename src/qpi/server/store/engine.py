"""Database engines (Piccolo) and the small SQL runner every store module uses.

SQLite: see :mod:`qpi.server.store.sqlite` (one writer connection used inline, one reader
thread). Write transactions are ``BEGIN IMMEDIATE``.

PostgreSQL: Piccolo's ``PostgresEngine`` with an asyncpg pool (``--db-pool-size``); read-then-write
units lock the rows they read (``FOR UPDATE``) inside the transaction.

:class:`Db` runs SQL written with ``{}`` placeholders on either engine, inside the current Piccolo
transaction when there is one, so raw hot-path queries and Piccolo table queries share one
transaction.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from qpi.errors import ConfigError, StoreError
from qpi.server.store.sqlite import PersistentSQLiteEngine, is_read

__all__ = ["Db", "Dialect", "make_engine", "parse_database_url"]

logger = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]

_PLACEHOLDER = re.compile(r"\{\}")


def parse_database_url(url: str) -> tuple[Dialect, dict[str, Any]]:
    """``sqlite:///relative``, ``sqlite:////absolute`` or ``postgresql://user:pass@host:port/db``."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigError(f"database_url {url!r} names no file")
        return "sqlite", {"path": path}
    parsed = urlparse(url)
    if parsed.scheme in {"postgresql", "postgres", "postgresql+asyncpg"}:
        config: dict[str, Any] = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "database": (parsed.path or "/").lstrip("/") or "postgres",
            "user": unquote(parsed.username) if parsed.username else "postgres",
        }
        if parsed.password:
            config["password"] = unquote(parsed.password)
        return "postgres", config
    raise ConfigError(f"database_url {url!r}: expected sqlite:///FILE or postgresql://USER@HOST:PORT/DB")


class _PgEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine without its blocking version probe at construction."""

    def __init__(self, config: dict[str, Any], pool_size: int) -> None:
        self.pool_size = pool_size
        super().__init__(config=config)

    async def check_version(self) -> None:
        return None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(min_size=1, max_size=self.pool_size, reset=_keep_session_state, **kwargs)


async def _keep_session_state(_connection: Any) -> None:
    """asyncpg's pool sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` on every
    release: a round trip per query outside a transaction. QPI leaves no session state behind (advisory
    locks are transaction-scoped, no cursors, LISTEN or SET), and asyncpg still rolls back an open
    transaction before calling this, so nothing is needed here."""


def make_engine(url: str, *, pool_size: int = 10) -> tuple[Dialect, Engine[Any]]:
    dialect, params = parse_database_url(url)
    if dialect == "sqlite":
        Path(params["path"]).parent.mkdir(parents=True, exist_ok=True)
        return dialect, PersistentSQLiteEngine(params["path"])
    return dialect, _PgEngine(config=params, pool_size=max(1, pool_size))


@lru_cache(maxsize=1024)
def _compile(sql: str, dialect: Dialect) -> str:
    if dialect == "sqlite":
        return _PLACEHOLDER.sub("?", sql)
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


class Db:
    """Runs SQL with ``{}`` placeholders on the engine, in the current transaction if any.

    All database errors leave this class as :class:`qpi.errors.StoreError` (or one of the
    integrity errors below), raised ``from`` the driver error — never as "no rows".
    """

    def __init__(self, dialect: Dialect, engine: Engine[Any]) -> None:
        self.dialect: Dialect = dialect
        self.engine = engine

    def use_index(self, index: str) -> str:
        """`` INDEXED BY index`` on SQLite, nothing on PostgreSQL.

        SQLite's planner has no statistics unless someone runs ``ANALYZE``, and without them it
        prefers an index with more equality columns over the partial index made for the query
        (``qpu_id, state`` over the payable-rank index: a scan of every pending job of the QPU
        instead of the few ahead). The queries whose cost must not depend on the backlog name
        their index; PostgreSQL keeps statistics and plans them well by itself.
        """
        return f" INDEXED BY {index}" if self.dialect == "sqlite" else ""

    async def open(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool()
        elif isinstance(self.engine, PersistentSQLiteEngine):
            await self.engine.shared_connection()

    async def checkpoint(self) -> None:
        """SQLite: a passive WAL checkpoint on its own thread (``sqlite.py``); PostgreSQL: nothing."""
        if isinstance(self.engine, PersistentSQLiteEngine):
            with _DRIVER_ERRORS:
                await self.engine.checkpoint()

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            if self.engine.pool is not None:
                await self.engine.close_connection_pool()
        elif isinstance(self.engine, PersistentSQLiteEngine):
            await self.engine.close()

    @contextlib.asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[None]:
        """One unit of work: ``BEGIN IMMEDIATE`` on SQLite when ``write``, a plain one on PostgreSQL."""
        with _DRIVER_ERRORS:
            if isinstance(self.engine, SQLiteEngine):
                kind = TransactionType.immediate if write else TransactionType.deferred
                async with self.engine.transaction(transaction_type=kind):
                    yield
            else:
                async with self.engine.transaction():
                    yield

    def guard(self) -> _DriverErrors:
        """Map database driver errors raised by Piccolo queries to :class:`StoreError` subclasses.

        Use as ``async with db.guard():`` (or ``with``).
        """
        return _DRIVER_ERRORS

    def in_transaction(self) -> bool:
        return self.engine.current_transaction.get() is not None

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        text = _compile(sql, self.dialect)
        with _DRIVER_ERRORS:
            txn = self.engine.current_transaction.get()
            if self.dialect == "sqlite":
                if txn is not None:
                    async with txn.connection.execute(text, args) as cursor:
                        return list(await cursor.fetchall())
                engine = self.engine
                assert isinstance(engine, PersistentSQLiteEngine)
                if is_read(text):
                    return await engine.read(text, args)
                async with engine.lock:
                    conn = await engine.shared_connection()
                    async with conn.execute(text, args) as cursor:
                        return list(await cursor.fetchall())
            if txn is not None:
                rows = await txn.connection.fetch(text, *args)
            else:
                engine_pg = self.engine
                assert isinstance(engine_pg, PostgresEngine) and engine_pg.pool is not None
                async with engine_pg.pool.acquire() as conn:
                    rows = await conn.fetch(text, *args)
            return [dict(r) for r in rows]

    async def fetchone(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        if row is None:
            return None
        return next(iter(row.values()))

    async def execute(self, sql: str, *args: Any) -> None:
        await self.fetch(sql, *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` once per row; must be called inside a transaction."""
        if not rows:
            return
        text = _compile(sql, self.dialect)
        txn = self.engine.current_transaction.get()
        if txn is None:
            raise StoreError("executemany needs a transaction")
        with _DRIVER_ERRORS:
            await txn.connection.executemany(text, [tuple(r) for r in rows])


class IntegrityError(StoreError):
    """A unique or foreign-key constraint refused a write (``constraint`` names it when known)."""

    code = "integrity_error"

    def __init__(self, message: str, *, constraint: str = "") -> None:
        super().__init__(message)
        self.constraint = constraint


class _DriverErrors:
    """The one boundary for database driver errors: ``sqlite3``, ``asyncpg`` and ``OSError`` leave as
    :class:`StoreError` (or :class:`IntegrityError`), raised ``from`` the driver error; anything else
    passes unchanged. Usable with ``with`` and ``async with``; stateless, so one instance serves all.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, sqlite3.Error | OSError) or (isinstance(exc, Exception) and _is_asyncpg_error(exc)):
            raise _map_error(exc) from exc

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


_DRIVER_ERRORS = _DriverErrors()


def _is_asyncpg_error(exc: BaseException) -> bool:
    import asyncpg

    return isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError)


def _map_error(exc: BaseException) -> StoreError:
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc), constraint=str(exc))
    try:
        import asyncpg

        if isinstance(exc, asyncpg.UniqueViolationError | asyncpg.ForeignKeyViolationError):
            return IntegrityError(str(exc), constraint=getattr(exc, "constraint_name", "") or "")
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        pass
    return StoreError(f"database error: {type(exc).__name__}: {exc}")
