"""The SQLite engine: one writer connection used inline, one reader connection on a thread.

Piccolo's stock SQLite engine opens a new aiosqlite connection (and thread) for every query made
outside a transaction (~1.7 ms), and every aiosqlite call is a hop to that thread and back
(~0.2–0.5 ms under load). One server owns a SQLite file (lock file, ``scheduling.md`` S1), so:

- **writer** — one ``sqlite3`` connection used directly on the event loop, serialised by an asyncio
  lock. Transactions are short and indexed (tens of microseconds a statement), so running them
  inline costs less than the thread hops they replace; a job's claim or result is one
  ``BEGIN IMMEDIATE`` … ``COMMIT`` with no hop at all.
- **reader** — an aiosqlite connection (its own thread) for reads outside transactions: lists and
  counts over large tables run beside the loop, and in WAL mode never wait for the writer.

Both connections: WAL, ``synchronous = NORMAL``, ``busy_timeout`` 5 s, foreign keys on.

**Checkpoints** copy the WAL back into the database file and fsync both. SQLite runs them inside
the commit that crosses ``wal_autocheckpoint`` pages (every ~15 jobs here), which put an fsync on
the event loop. The writer's threshold is raised to a backstop and :meth:`checkpoint` runs a
``PASSIVE`` checkpoint on a short-lived third connection, on a worker thread, from the server's
``wal-checkpoint`` task (every ``CHECKPOINT_INTERVAL``); it never waits for the writer or readers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Generator, Iterable, Sequence
from functools import lru_cache
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

__all__ = ["CHECKPOINT_INTERVAL", "InlineConnection", "PersistentSQLiteEngine", "is_read"]

#: Seconds between background checkpoints of the WAL.
CHECKPOINT_INTERVAL = 0.5
#: WAL pages after which the writer checkpoints inline anyway (~80 MB): only if the task stalls.
_WRITER_AUTOCHECKPOINT = 20_000

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA foreign_keys = 1",
)


@lru_cache(maxsize=4096)
def is_read(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head.startswith("WITH") and "RETURNING" not in sql.upper())


class _Rows:
    """The finished result of an inline statement, shaped like aiosqlite's: awaitable, async context
    manager, ``fetchall``/``fetchone`` coroutines."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def __await__(self) -> Generator[Any, None, _Rows]:
        if False:  # pragma: no cover - makes this a generator
            yield
        return self

    async def __aenter__(self) -> _Rows:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetchall(self) -> list[Any]:
        return self._rows

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def close(self) -> None:
        return None


class InlineConnection:
    """A ``sqlite3`` connection with the slice of aiosqlite's API that Piccolo and ``Db`` use."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Rows:
        cursor = self._conn.execute(sql, tuple(parameters))
        try:
            rows = cursor.fetchall()
            return _Rows(rows, cursor.rowcount, cursor.lastrowid)
        finally:
            cursor.close()

    async def executemany(self, sql: str, parameters: Sequence[Sequence[Any]]) -> _Rows:
        cursor = self._conn.executemany(sql, parameters)
        try:
            return _Rows([], cursor.rowcount, cursor.lastrowid)
        finally:
            cursor.close()

    async def commit(self) -> None:
        self._conn.commit()

    async def close(self) -> None:
        self._conn.close()


class _PersistentTransaction(SQLiteTransaction):
    """A Piccolo SQLite transaction on the engine's writer, holding its lock."""

    engine: PersistentSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        await self.engine.lock.acquire()
        try:
            self.connection = self.engine.writer()
            await self.begin()  # type: ignore[no-untyped-call]  # Piccolo leaves it unannotated
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
                    await self.rollback()  # type: ignore[no-untyped-call]
            elif not self._committed and not self._rolled_back:
                await self.commit()  # type: ignore[no-untyped-call]
        finally:
            self.engine.current_transaction.reset(self.context)
            self.engine.lock.release()
        return exception is None


class PersistentSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine on a persistent inline writer and a reader thread (module docstring)."""

    def __init__(self, path: str) -> None:
        super().__init__(path=path, timeout=5.0)
        self.lock = asyncio.Lock()
        self._writer: InlineConnection | None = None
        self._reader: aiosqlite.Connection | None = None

    def writer(self) -> InlineConnection:
        if self._writer is None:
            kwargs = dict(self.connection_kwargs)
            conn = sqlite3.connect(**kwargs)
            conn.row_factory = dict_factory
            for pragma in _PRAGMAS:
                conn.execute(pragma)
            conn.execute(f"PRAGMA wal_autocheckpoint = {_WRITER_AUTOCHECKPOINT}")
            self._writer = InlineConnection(conn)
        return self._writer

    async def shared_connection(self) -> InlineConnection:
        return self.writer()

    async def reader_connection(self) -> aiosqlite.Connection:
        if self._reader is None:
            conn = await aiosqlite.connect(**self.connection_kwargs)
            conn.row_factory = dict_factory  # type: ignore[assignment]
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
            await conn.execute("PRAGMA query_only = 1")
            self._reader = conn
        return self._reader

    async def checkpoint(self) -> tuple[int, int, int]:
        """A ``PASSIVE`` WAL checkpoint off the event loop: ``(busy, wal_frames, checkpointed_frames)``."""
        return await asyncio.to_thread(self._checkpoint_now)

    def _checkpoint_now(self) -> tuple[int, int, int]:
        # A connection of its own, opened and closed in the worker thread: a cancelled caller can
        # never leave it open (the writer and reader stay open, so closing it keeps the WAL).
        conn = sqlite3.connect(**self.connection_kwargs)
        try:
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        return int(busy), int(frames), int(done)

    async def read(self, query: str, args: Sequence[Any]) -> list[Any]:
        """One read on the reader, executed and fetched in ONE hop to its thread. Two hops (execute,
        then fetchall) let another coroutine's statement run in between inside the first one's
        still-open read snapshot, where it misses rows committed since (read-your-writes broken)."""
        reader = await self.reader_connection()
        return list(await reader.execute_fetchall(query, args))

    async def get_connection(self) -> Any:
        return self.writer()

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if is_read(query):
            return await self.read(query, args or [])
        async with self.lock:
            return await self.writer().execute(query, args or []).fetchall()

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

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return _PersistentTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        if self._writer is not None:
            await self._writer.close()
        self._writer = self._reader = None
