"""Database engines (Piccolo) and the small SQL runner every store module uses.

SQLite: one persistent aiosqlite connection in WAL mode with ``busy_timeout`` 5 s, shared by
every query of this process and serialised by an asyncio lock. Piccolo's stock SQLite engine
opens a new connection (and a new thread) for every query outside a transaction (~1.7 ms); one
server owns a SQLite file (lock file, ``scheduling.md`` S1), so one connection is both safe and
~10× faster. Write transactions are ``BEGIN IMMEDIATE``.

PostgreSQL: Piccolo's ``PostgresEngine`` with an asyncpg pool (``--db-pool-size``); read-then-write
units lock the rows they read (``FOR UPDATE``) inside the transaction.

:class:`Db` runs SQL written with ``{}`` placeholders on either engine, inside the current Piccolo
transaction when there is one, so raw hot-path queries and Piccolo table queries share one
transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from qpi.errors import ConfigError, StoreError

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


class _PersistentTransaction(SQLiteTransaction):
    """A Piccolo SQLite transaction on the engine's one connection, holding its lock."""

    engine: PersistentSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self.engine.lock.acquire()
        try:
            self.connection = await self.engine.shared_connection()
            await self.begin()
        except BaseException:
            self.engine.lock.release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine.lock.release()
        return exception is None


class PersistentSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on one persistent connection (see the module docstring)."""

    def __init__(self, path: str) -> None:
        super().__init__(path=path, timeout=5.0)
        self.lock = asyncio.Lock()
        self._conn: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None

    async def _open(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(**self.connection_kwargs)
        conn.row_factory = dict_factory  # type: ignore[assignment]
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA foreign_keys = 1")
        return conn

    async def shared_connection(self) -> aiosqlite.Connection:
        """The writer: every transaction and every write, one at a time (the lock)."""
        if self._conn is None:
            self._conn = await self._open()
        return self._conn

    async def reader_connection(self) -> aiosqlite.Connection:
        """A second connection for reads outside transactions: in WAL mode they never wait for the
        writer, and they run on their own thread, beside it."""
        if self._reader is None:
            self._reader = await self._open()
            await self._reader.execute("PRAGMA query_only = 1")
        return self._reader

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.shared_connection()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if _is_read(query):
            reader = await self.reader_connection()
            async with reader.execute(query, args or []) as cursor:
                return await cursor.fetchall()
        async with self.lock:
            conn = await self.shared_connection()
            async with conn.execute(query, args or []) as cursor:
                return await cursor.fetchall()

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()

    def transaction(  # type: ignore[override]
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _PersistentTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def close(self) -> None:
        for conn in (self._reader, self._conn):
            if conn is not None:
                await conn.close()
        self._conn = self._reader = None


class _PgEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine without its blocking version probe at construction."""

    def __init__(self, config: dict[str, Any], pool_size: int) -> None:
        self.pool_size = pool_size
        super().__init__(config=config)

    async def check_version(self) -> None:
        return None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(min_size=1, max_size=self.pool_size, **kwargs)


def make_engine(url: str, *, pool_size: int = 10) -> tuple[Dialect, Engine[Any]]:
    dialect, params = parse_database_url(url)
    if dialect == "sqlite":
        Path(params["path"]).parent.mkdir(parents=True, exist_ok=True)
        return dialect, PersistentSQLiteEngine(params["path"])
    return dialect, _PgEngine(config=params, pool_size=max(1, pool_size))


@lru_cache(maxsize=4096)
def _is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head.startswith("WITH") and "RETURNING" not in sql.upper())


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

    async def open(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            await self.engine.start_connection_pool()
        elif isinstance(self.engine, PersistentSQLiteEngine):
            await self.engine.shared_connection()

    async def close(self) -> None:
        if isinstance(self.engine, PostgresEngine):
            if self.engine.pool is not None:
                await self.engine.close_connection_pool()
        elif isinstance(self.engine, PersistentSQLiteEngine):
            await self.engine.close()

    @contextlib.asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[None]:
        """One unit of work: ``BEGIN IMMEDIATE`` on SQLite when ``write``, a plain one on PostgreSQL."""
        try:
            if isinstance(self.engine, SQLiteEngine):
                kind = TransactionType.immediate if write else TransactionType.deferred
                async with self.engine.transaction(transaction_type=kind):
                    yield
            else:
                async with self.engine.transaction():
                    yield
        except (sqlite3.Error, OSError) as exc:
            raise _map_error(exc) from exc
        except Exception as exc:
            if _is_asyncpg_error(exc):
                raise _map_error(exc) from exc
            raise

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Map database driver errors raised by Piccolo queries to :class:`StoreError` subclasses."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise _map_error(exc) from exc
        except Exception as exc:
            if _is_asyncpg_error(exc):
                raise _map_error(exc) from exc
            raise

    def in_transaction(self) -> bool:
        return self.engine.current_transaction.get() is not None

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        text = _compile(sql, self.dialect)
        try:
            txn = self.engine.current_transaction.get()
            if self.dialect == "sqlite":
                if txn is not None:
                    async with txn.connection.execute(text, args) as cursor:
                        return list(await cursor.fetchall())
                engine = self.engine
                assert isinstance(engine, PersistentSQLiteEngine)
                if _is_read(text):
                    reader = await engine.reader_connection()
                    async with reader.execute(text, args) as cursor:
                        return list(await cursor.fetchall())
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
        except (sqlite3.Error, OSError) as exc:
            raise _map_error(exc) from exc
        except Exception as exc:
            if _is_asyncpg_error(exc):
                raise _map_error(exc) from exc
            raise

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
        try:
            if self.dialect == "sqlite":
                await txn.connection.executemany(text, [tuple(r) for r in rows])
            else:
                await txn.connection.executemany(text, [tuple(r) for r in rows])
        except (sqlite3.Error, OSError) as exc:
            raise _map_error(exc) from exc
        except Exception as exc:
            if _is_asyncpg_error(exc):
                raise _map_error(exc) from exc
            raise


class IntegrityError(StoreError):
    """A unique or foreign-key constraint refused a write (``constraint`` names it when known)."""

    code = "integrity_error"

    def __init__(self, message: str, *, constraint: str = "") -> None:
        super().__init__(message)
        self.constraint = constraint


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
