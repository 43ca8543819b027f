"""Driver records, their tokens (hashed), sessions and NNG port allocations."""

from __future__ import annotations

import builtins
from typing import Any

from qpi.errors import NotFoundError, UnavailableError
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db, IntegrityError
from qpi.server.store.names import TableNames
from qpi.server.store.rows import DriverRow

__all__ = ["Drivers"]

DRIVER_SORTS = {"name": "d.name", "created": "d.created"}


class Drivers:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.n = names

    def _select(self) -> str:
        return (
            f"SELECT d.*, p.port AS port, q.name AS qpu_name FROM {self.n.drivers} d "
            f"LEFT JOIN {self.n.port_allocations} p ON p.driver_id = d.id "
            f"LEFT JOIN {self.n.qpus} q ON q.id = d.qpu_id"
        )

    async def create(
        self,
        *,
        name: str,
        qpu_id: str,
        kind: str,
        role: str,
        language: str,
        events: str,
        token_hash: str,
        token_prefix: str,
        enabled: bool,
        now: int,
    ) -> DriverRow:
        driver_id = new_id()
        await self.db.execute(
            f"INSERT INTO {self.n.drivers} (id, name, qpu_id, kind, role, language, events, token_hash, "
            "token_prefix, enabled, created, updated) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            driver_id,
            name,
            qpu_id,
            kind,
            role,
            language,
            events,
            token_hash,
            token_prefix,
            enabled,
            now,
            now,
        )
        row = await self.get(driver_id)
        assert row is not None
        return row

    async def get(self, driver_id: str) -> DriverRow | None:
        row = await self.db.fetchone(f"{self._select()} WHERE d.id = {{}}", driver_id)
        return to_row(row, DriverRow) if row else None

    async def require(self, driver_id: str) -> DriverRow:
        row = await self.get(driver_id)
        if row is None:
            raise NotFoundError(f"driver {driver_id!r} not found")
        return row

    async def by_token_hash(self, token_hash: str) -> DriverRow | None:
        row = await self.db.fetchone(f"{self._select()} WHERE d.token_hash = {{}}", token_hash)
        return to_row(row, DriverRow) if row else None

    async def list(
        self,
        *,
        qpu_id: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        enabled: bool | None = None,
        order: str = "d.name ASC",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[DriverRow], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        for clause, value in (
            ("d.qpu_id = {}", qpu_id),
            ("d.status = {}", status),
            ("d.kind = {}", kind),
            ("d.enabled = {}", enabled),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.drivers} d WHERE {cond}", *args)
        rows = await self.db.fetch(
            f"{self._select()} WHERE {cond} ORDER BY {order}, d.id LIMIT {{}} OFFSET {{}}", *args, limit, offset
        )
        return rows_to(rows, DriverRow), int(total)

    async def for_qpu(self, qpu_id: str) -> builtins.list[DriverRow]:
        return rows_to(await self.db.fetch(f"{self._select()} WHERE d.qpu_id = {{}}", qpu_id), DriverRow)

    async def update(self, driver_id: str, values: dict[str, Any], *, now: int) -> DriverRow:
        sets = ", ".join(f"{k} = {{}}" for k in values)
        rows = await self.db.fetch(
            f"UPDATE {self.n.drivers} SET {sets}, updated = {{}} WHERE id = {{}} RETURNING id",
            *values.values(),
            now,
            driver_id,
        )
        if not rows:
            raise NotFoundError(f"driver {driver_id!r} not found")
        row = await self.get(driver_id)
        assert row is not None
        return row

    async def touch(self, driver_id: str, now: int, *, workers_ready: int) -> None:
        await self.db.execute(
            f"UPDATE {self.n.drivers} SET last_seen = {{}}, workers_ready = {{}} WHERE id = {{}}",
            now,
            workers_ready,
            driver_id,
        )

    async def mark_all_offline(self, now: int) -> builtins.list[str]:
        """S2: at start every driver is offline until it says Hello again; returns the QPUs touched."""
        rows = await self.db.fetch(
            f"UPDATE {self.n.drivers} SET status = 'offline', updated = {{}} WHERE status <> 'offline' "
            "RETURNING qpu_id",
            now,
        )
        return sorted({r["qpu_id"] for r in rows})

    async def delete(self, driver_id: str) -> bool:
        rows = await self.db.fetch(f"DELETE FROM {self.n.drivers} WHERE id = {{}} RETURNING id", driver_id)
        return bool(rows)

    async def allocate_port(self, driver_id: str, *, start: int, end: int, skip: frozenset[int] = frozenset()) -> int:
        """The driver's port: reused when it has one, else the lowest free one of ``[start, end)``.

        The port's primary key makes the reservation race-free across requests and replicas
        (P-1.7); a lost race just tries the next port. ``skip`` holds ports found busy at bind.
        """
        current = await self.db.fetchval(
            f"SELECT port FROM {self.n.port_allocations} WHERE driver_id = {{}}", driver_id
        )
        if current is not None and int(current) not in skip and start <= int(current) < end:
            return int(current)
        for _ in range(50):
            used = {int(r["port"]) for r in await self.db.fetch(f"SELECT port FROM {self.n.port_allocations}")}
            if current is not None:
                used.discard(int(current))
            free = next((p for p in range(start, end) if p not in used and p not in skip), None)
            if free is None:
                raise UnavailableError(
                    f"no NNG port is free in {start}..{end - 1}; widen --port-range-end",
                    code="no_ports_available",
                    retry_after=30,
                )
            try:
                async with self.db.transaction():
                    await self.db.execute(f"DELETE FROM {self.n.port_allocations} WHERE driver_id = {{}}", driver_id)
                    await self.db.execute(
                        f"INSERT INTO {self.n.port_allocations} (port, driver_id) VALUES ({{}}, {{}})", free, driver_id
                    )
                return free
            except IntegrityError:
                continue
        raise UnavailableError("could not reserve an NNG port; try again", code="no_ports_available")
