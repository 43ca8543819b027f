"""SQLite's write-ahead log is checkpointed by the background task, not inside commits."""

from __future__ import annotations

from pathlib import Path

import pytest

from qpi.server.store import Store, TableNames
from qpi.server.store.sqlite import PersistentSQLiteEngine

pytestmark = pytest.mark.anyio


async def test_commits_leave_the_wal_to_the_checkpointer_which_copies_all_of_it(tmp_path: Path) -> None:
    async with Store.open(f"sqlite:///{tmp_path / 'qpi.sqlite3'}", TableNames()) as store:
        engine = store.db.engine
        assert isinstance(engine, PersistentSQLiteEngine)
        writer = engine.writer()
        threshold = (await writer.execute("PRAGMA wal_autocheckpoint").fetchall())[0]
        assert list(threshold.values()) == [20_000]  # a backstop only

        await store.db.execute("CREATE TABLE filler (k INTEGER PRIMARY KEY, v TEXT)")
        for start in range(0, 3000, 100):  # ~1,500 pages: past SQLite's default threshold of 1,000
            async with store.db.transaction():
                for k in range(start, start + 100):
                    await store.db.execute("INSERT INTO filler (k, v) VALUES ({}, {})", k, "x" * 2000)
        wal = tmp_path / "qpi.sqlite3-wal"
        size_before = wal.stat().st_size
        assert size_before > 1000 * 4096  # no checkpoint ran inside a commit

        busy, frames, copied = await engine.checkpoint()
        assert busy == 0 and frames > 1000 and copied == frames

        async with store.db.transaction():  # the next writer starts the WAL over
            await store.db.execute("INSERT INTO filler (k, v) VALUES ({}, {})", 10**6, "y")
        _busy, frames_after, _copied = await engine.checkpoint()
        assert frames_after < 10
        assert await store.db.fetchval("SELECT COUNT(*) AS c FROM filler") == 3001
