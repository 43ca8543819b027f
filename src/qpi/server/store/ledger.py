"""The QPU-seconds ledger: append-only entries, and balances changed only together with one.

Every balance change is ``UPDATE users SET balance_ms = balance_ms + d … RETURNING`` plus the
ledger insert, in the caller's transaction (``scheduling.md`` C4). No read-modify-write in Python;
``set`` reads the balance under the row lock first (C5).
"""

from __future__ import annotations

from typing import Any

from qpi.errors import ConflictError, NotFoundError
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db, IntegrityError
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.names import TableNames
from qpi.server.store.rows import LedgerRow

__all__ = ["Ledger"]


class Ledger:
    def __init__(self, db: Db, names: TableNames, events: Events) -> None:
        self.db = db
        self.n = names
        self.events = events

    async def apply(
        self,
        *,
        user_id: str,
        kind: str,
        amount_ms: int,
        now: int,
        job_id: str | None = None,
        attempt: int | None = None,
        time_request_id: str | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> LedgerRow:
        """Change a balance by ``amount_ms`` and record the entry; call inside a write transaction."""
        assert self.db.in_transaction(), "ledger entries are written inside the caller's transaction"
        row = await self.db.fetchone(
            f"UPDATE {self.n.users} SET balance_ms = balance_ms + {{}}, updated = {{}} WHERE id = {{}} "
            "RETURNING balance_ms, role",
            amount_ms,
            now,
            user_id,
        )
        if row is None:
            raise NotFoundError(f"user {user_id} not found")
        balance = int(row["balance_ms"])
        if (balance > 0) != (balance - amount_ms > 0) and row["role"] != "superuser":
            await self.refresh_payable(user_id, balance > 0)
        entry = LedgerRow(
            id=new_id(),
            user_id=user_id,
            kind=kind,
            amount_ms=amount_ms,
            balance_after_ms=int(balance),
            job_id=job_id,
            attempt=attempt,
            time_request_id=time_request_id,
            actor=actor,
            reason=reason,
            created=now,
        )
        try:
            await self.db.execute(
                f"INSERT INTO {self.n.ledger} (id, user_id, kind, amount_ms, balance_after_ms, job_id, attempt, "
                "time_request_id, actor, reason, created) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                entry.id,
                entry.user_id,
                entry.kind,
                entry.amount_ms,
                entry.balance_after_ms,
                entry.job_id,
                entry.attempt,
                entry.time_request_id,
                entry.actor,
                entry.reason,
                entry.created,
            )
        except IntegrityError as exc:
            raise ConflictError(f"a {kind} entry for this item already exists", code="already_recorded") from exc
        await self.events.append(
            NewEvent(
                "ledger.entry",
                "owner",
                {
                    "id": entry.id,
                    "kind": kind,
                    "amount": amount_ms / 1000,
                    "balance_after": entry.balance_after_ms / 1000,
                    "job": job_id,
                    "attempt": attempt,
                    "time_request": time_request_id,
                    "actor": actor,
                    "reason": reason,
                },
                user_id=user_id,
                job=job_id,
            ),
            now=now,
        )
        return entry

    async def refresh_payable(self, user_id: str, payable: bool) -> None:
        """Keep the ``payable`` flag of the user's active jobs in step with the balance (P1 index)."""
        await self.db.execute(
            f"UPDATE {self.n.jobs} SET payable = {{}} WHERE owner = {{}} "
            "AND state IN ('pending', 'dispatched', 'running') AND payable <> {}",
            payable,
            user_id,
            payable,
        )

    async def set_balance(
        self, *, user_id: str, target_ms: int, now: int, actor: str | None, reason: str = ""
    ) -> LedgerRow:
        """Write a ``set`` entry of ``target − current`` (read under the row lock, C5)."""
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        current = await self.db.fetchval(f"SELECT balance_ms FROM {self.n.users} WHERE id = {{}}{lock}", user_id)
        if current is None:
            raise NotFoundError(f"user {user_id} not found")
        return await self.apply(
            user_id=user_id, kind="set", amount_ms=target_ms - int(current), now=now, actor=actor, reason=reason
        )

    async def refund(self, *, user_id: str, job_id: str, now: int, actor: str, reason: str = "") -> LedgerRow:
        total = await self.db.fetchval(
            f"SELECT COALESCE(SUM(amount_ms), 0) AS s FROM {self.n.ledger} WHERE job_id = {{}} AND kind = 'usage'",
            job_id,
        )
        charged = -int(total or 0)
        if charged <= 0:
            raise ConflictError(f"job {job_id} has no charge to refund", code="not_charged")
        try:
            return await self.apply(
                user_id=user_id, kind="refund", amount_ms=charged, now=now, job_id=job_id, actor=actor, reason=reason
            )
        except ConflictError as exc:
            raise ConflictError(f"job {job_id} was already refunded", code="already_refunded") from exc

    async def list(
        self,
        *,
        user_id: str | None,
        kind: str | None = None,
        job_id: str | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        ascending: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[LedgerRow], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        for clause, value in (
            ("user_id = {}", user_id),
            ("kind = {}", kind),
            ("job_id = {}", job_id),
            ("created > {}", created_after),
            ("created < {}", created_before),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.ledger} WHERE {cond}", *args)
        order = "ASC" if ascending else "DESC"
        rows = await self.db.fetch(
            f"SELECT * FROM {self.n.ledger} WHERE {cond} ORDER BY created {order}, id {order} LIMIT {{}} OFFSET {{}}",
            *args,
            limit,
            offset,
        )
        return rows_to(rows, LedgerRow), int(total or 0)

    async def get(self, entry_id: str) -> LedgerRow | None:
        row = await self.db.fetchone(f"SELECT * FROM {self.n.ledger} WHERE id = {{}}", entry_id)
        return to_row(row, LedgerRow) if row else None

    async def sums(self) -> dict[str, int]:
        """Per user, the sum of ledger amounts (for the invariant check A1b)."""
        rows = await self.db.fetch(
            f"SELECT user_id, SUM(amount_ms) AS s FROM {self.n.ledger} WHERE user_id IS NOT NULL GROUP BY user_id"
        )
        return {r["user_id"]: int(r["s"]) for r in rows}

    async def balances(self) -> dict[str, int]:
        rows: list[dict[str, Any]] = await self.db.fetch(f"SELECT id, balance_ms FROM {self.n.users}")
        return {r["id"]: int(r["balance_ms"]) for r in rows}
