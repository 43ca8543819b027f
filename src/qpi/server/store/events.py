"""The append-only ``events`` table: job transitions, admin changes, telemetry (``api.md`` §2.11)."""

from __future__ import annotations

import builtins
from typing import Any

from qpi.server.store.common import json_dumps, rows_to
from qpi.server.store.engine import Db
from qpi.server.store.names import TableNames
from qpi.server.store.rows import EventRow

__all__ = ["Events", "NewEvent"]


class NewEvent:
    """An event to append; ``visibility`` is ``public``, ``owner`` or ``admin``."""

    __slots__ = ("data", "driver", "job", "qpu", "source", "type", "user_id", "visibility")

    def __init__(
        self,
        type: str,
        visibility: str,
        data: dict[str, Any],
        *,
        job: str | None = None,
        user_id: str | None = None,
        qpu: str | None = None,
        driver: str | None = None,
        source: str = "server",
    ) -> None:
        self.type = type
        self.visibility = visibility
        self.data = data
        self.job = job
        self.user_id = user_id
        self.qpu = qpu
        self.driver = driver
        self.source = source


class Events:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.n = names

    async def append(self, event: NewEvent, *, now: int) -> EventRow:
        data = json_dumps(event.data)
        row = await self.db.fetchone(
            f"INSERT INTO {self.n.events} (ts, type, source, qpu, driver, job, user_id, visibility, data) "
            "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}) RETURNING id",
            now,
            event.type,
            event.source,
            event.qpu,
            event.driver,
            event.job,
            event.user_id,
            event.visibility,
            data,
        )
        assert row is not None
        return EventRow(
            id=int(row["id"]),
            ts=now,
            type=event.type,
            source=event.source,
            visibility=event.visibility,
            data=data,
            qpu=event.qpu,
            driver=event.driver,
            job=event.job,
            user_id=event.user_id,
        )

    async def list(
        self,
        *,
        viewer: str | None,
        superuser: bool,
        types: list[str] | None = None,
        qpu: str | None = None,
        driver: str | None = None,
        job: str | None = None,
        after_id: int | None = None,
        since: int | None = None,
        until: int | None = None,
        ascending: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[EventRow], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if not superuser:
            where.append("(visibility = 'public' OR (visibility = 'owner' AND user_id = {}))")
            args.append(viewer)
        if types:
            parts = []
            for t in types:
                if t.endswith(".*"):
                    parts.append("type LIKE {}")
                    args.append(t[:-1] + "%")
                else:
                    parts.append("type = {}")
                    args.append(t)
            where.append("(" + " OR ".join(parts) + ")")
        for clause, value in (
            ("qpu = {}", qpu),
            ("driver = {}", driver),
            ("job = {}", job),
            ("id > {}", after_id),
            ("ts >= {}", since),
            ("ts < {}", until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.events} WHERE {cond}", *args)
        order = "ASC" if ascending else "DESC"
        rows = await self.db.fetch(
            f"SELECT * FROM {self.n.events} WHERE {cond} ORDER BY id {order} LIMIT {{}} OFFSET {{}}",
            *args,
            limit,
            offset,
        )
        return rows_to(rows, EventRow), int(total)

    async def since(self, after_id: int, *, limit: int = 5000) -> builtins.list[EventRow]:
        rows = await self.db.fetch(
            f"SELECT * FROM {self.n.events} WHERE id > {{}} ORDER BY id LIMIT {{}}", after_id, limit
        )
        return rows_to(rows, EventRow)

    async def by_ids(self, ids: builtins.list[int]) -> builtins.list[EventRow]:
        """The events among ``ids`` (those that exist), in id order."""
        if not ids:
            return []
        marks = ", ".join("{}" for _ in ids)
        rows = await self.db.fetch(f"SELECT * FROM {self.n.events} WHERE id IN ({marks}) ORDER BY id", *ids)
        return rows_to(rows, EventRow)

    async def latest_id(self) -> int:
        value = await self.db.fetchval(f"SELECT MAX(id) AS m FROM {self.n.events}")
        return int(value or 0)

    async def oldest_id(self) -> int | None:
        value = await self.db.fetchval(f"SELECT MIN(id) AS m FROM {self.n.events}")
        return int(value) if value is not None else None

    async def prune(self, *, older_than: int, batch: int = 500) -> int:
        removed = 0
        while True:
            rows = await self.db.fetch(
                f"DELETE FROM {self.n.events} WHERE id IN (SELECT id FROM {self.n.events} WHERE ts < {{}} "
                "ORDER BY id LIMIT {}) RETURNING id",
                older_than,
                batch,
            )
            removed += len(rows)
            if len(rows) < batch:
                return removed
