"""QPU time requests (``scheduling.md`` §8): create, read, withdraw, and exactly-once approval.

TR1: approval is one transaction whose first statement is the CAS
``UPDATE … SET status = 'approved' … WHERE id = ? AND status = 'pending'``. Only the transaction that
updated the row inserts the ``time_request`` ledger entry (unique per request) and raises the
balance, so any number of concurrent approvals credit once; the others answer 409
``request_processed``. TR2: approval and rejection notify the requester in the same transaction.

Event data is shaped by the caller (``describe``): the store does not know the API's JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from qpi.errors import ConflictError, NotFoundError, RateLimitedError
from qpi.server.scheduling.accounting import ms_to_seconds
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.ledger import Ledger
from qpi.server.store.names import TableNames
from qpi.server.store.notifications import Notifications
from qpi.server.store.rows import EventRow, LedgerRow

__all__ = ["Decision", "DescribeRequest", "TimeRequestView", "TimeRequests"]

#: How long a client told ``too_many_requests`` should wait: a superuser has to act first.
RETRY_AFTER_S = 60.0


class TimeRequestView(msgspec.Struct, frozen=True, kw_only=True):
    """A request with its requester's and handler's names (the API's ``user`` and ``handled_by``)."""

    id: str
    user_id: str
    seconds_ms: int
    status: str
    requested_reason: str
    admin_note: str
    created: int
    updated: int
    user_email: str
    user_name: str
    rejection_reason: str | None = None
    handled_by: str | None = None
    handled_at: int | None = None
    handled_by_name: str | None = None


#: Builds an event's ``data`` from a request (the API's TimeRequest shape).
DescribeRequest = Callable[[TimeRequestView], dict[str, Any]]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """A committed create, withdrawal, approval or rejection; publish ``events`` after the commit.
    ``lifted`` is true when an approval raised the balance from ≤ 0 to > 0 (wake the dispatcher)."""

    request: TimeRequestView
    events: tuple[EventRow, ...] = ()
    entry: LedgerRow | None = None
    lifted: bool = False


def _seconds_text(value_ms: int) -> str:
    """``12.345``, ``50``, ``1,000,000`` (no exponent notation in a sentence for people)."""
    return f"{ms_to_seconds(value_ms):,.3f}".rstrip("0").rstrip(".")


class TimeRequests:
    def __init__(self, db: Db, names: TableNames, events: Events, ledger: Ledger, notifications: Notifications) -> None:
        self.db = db
        self.n = names
        self.events = events
        self.ledger = ledger
        self.notifications = notifications

    def _select(self) -> str:
        n = self.n
        return (
            "SELECT r.id, r.user_id, r.seconds_ms, r.status, r.requested_reason, r.rejection_reason, r.admin_note, "
            "r.handled_by, r.handled_at, r.created, r.updated, u.email AS user_email, u.name AS user_name, "
            f"h.name AS handled_by_name FROM {n.time_requests} r JOIN {n.users} u ON u.id = r.user_id "
            f"LEFT JOIN {n.users} h ON h.id = r.handled_by"
        )

    async def get(self, request_id: str) -> TimeRequestView | None:
        row = await self.db.fetchone(f"{self._select()} WHERE r.id = {{}}", request_id)
        return to_row(row, TimeRequestView) if row else None

    async def _event(self, kind: str, view: TimeRequestView, describe: DescribeRequest, now: int) -> EventRow:
        # owner + admin: the requester sees it, and superusers see every event
        return await self.events.append(NewEvent(kind, "owner", describe(view), user_id=view.user_id), now=now)

    async def _require(self, request_id: str) -> TimeRequestView:
        view = await self.get(request_id)
        if view is None:
            raise NotFoundError(f"time request {request_id} not found")
        return view

    async def create(
        self,
        *,
        user_id: str,
        seconds_ms: int,
        reason: str,
        max_pending: int,
        now: int,
        describe: DescribeRequest,
    ) -> Decision:
        """A pending request of ``user_id``; more than ``max_pending`` pending (0 = no cap) → 429."""
        async with self.db.transaction():
            if self.db.dialect == "postgres":  # serialise one user's creates, so the cap holds
                await self.db.execute(f"SELECT id FROM {self.n.users} WHERE id = {{}} FOR UPDATE", user_id)
            if max_pending > 0:
                pending = int(
                    await self.db.fetchval(
                        f"SELECT COUNT(*) AS c FROM {self.n.time_requests} WHERE user_id = {{}} AND status = 'pending'",
                        user_id,
                    )
                    or 0
                )
                if pending >= max_pending:
                    raise RateLimitedError(
                        f"You already have {pending} pending time requests (limit {max_pending}); "
                        "wait until one is handled or withdraw one.",
                        code="too_many_requests",
                        retry_after=RETRY_AFTER_S,
                    )
            request_id = new_id()
            await self.db.execute(
                f"INSERT INTO {self.n.time_requests} (id, user_id, seconds_ms, status, requested_reason, admin_note, "
                "created, updated) VALUES ({}, {}, {}, 'pending', {}, '', {}, {})",
                request_id,
                user_id,
                seconds_ms,
                reason,
                now,
                now,
            )
            view = await self._require(request_id)
            event = await self._event("time_request.created", view, describe, now)
        return Decision(request=view, events=(event,))

    async def _processed_or_missing(self, request_id: str) -> ConflictError | NotFoundError:
        view = await self.get(request_id)
        if view is None:
            return NotFoundError(f"time request {request_id} not found")
        return ConflictError(f"time request {request_id} was already {view.status}", code="request_processed")

    async def delete(self, request_id: str, *, now: int, describe: DescribeRequest) -> Decision:
        """Withdraw a pending request (CAS on ``status = 'pending'``); processed → 409."""
        async with self.db.transaction():
            view = await self._require(request_id)
            rows = await self.db.fetch(
                f"DELETE FROM {self.n.time_requests} WHERE id = {{}} AND status = 'pending' RETURNING id", request_id
            )
            if not rows:
                raise await self._processed_or_missing(request_id)
            event = await self._event("time_request.deleted", view, describe, now)
        return Decision(request=view, events=(event,))

    async def _cas(self, request_id: str, status: str, *, actor_id: str, now: int, **values: str) -> bool:
        sets = "".join(f", {k} = {{}}" for k in values)
        rows = await self.db.fetch(
            f"UPDATE {self.n.time_requests} SET status = {{}}, handled_by = {{}}, handled_at = {{}}, "
            f"updated = {{}}{sets} WHERE id = {{}} AND status = 'pending' RETURNING id",
            status,
            actor_id,
            now,
            now,
            *values.values(),
            request_id,
        )
        return bool(rows)

    async def approve(
        self,
        request_id: str,
        *,
        actor_id: str,
        note: str,
        now: int,
        describe: DescribeRequest,
    ) -> Decision:
        """TR1 + TR2: CAS, credit through a ``time_request`` ledger entry, notify the requester."""
        async with self.db.transaction():
            if not await self._cas(request_id, "approved", actor_id=actor_id, now=now, admin_note=note):
                raise await self._processed_or_missing(request_id)
            view = await self._require(request_id)
            entry = await self.ledger.apply(
                user_id=view.user_id,
                kind="time_request",
                amount_ms=view.seconds_ms,
                now=now,
                time_request_id=view.id,
                actor=actor_id,
                reason=f"time request {view.id} approved",
            )
            text = f"Your request for {_seconds_text(view.seconds_ms)} QPU-seconds was approved."
            _, notices = await self.notifications.insert(
                title="QPU time request approved",
                description=f"{text} Note: {note}" if note else text,
                severity="info",
                start_time=None,
                end_time=None,
                target_users=[view.user_id],
                created_by=actor_id,
                now=now,
            )
            # (Ledger.apply appends the ``ledger.entry`` event itself)
            events = [await self._event("time_request.approved", view, describe, now), *notices]
        lifted = entry.balance_after_ms > 0 >= entry.balance_after_ms - entry.amount_ms
        return Decision(request=view, events=tuple(events), entry=entry, lifted=lifted)

    async def reject(
        self, request_id: str, *, actor_id: str, reason: str, now: int, describe: DescribeRequest
    ) -> Decision:
        """CAS to ``rejected`` with the reason, and notify the requester (TR2)."""
        async with self.db.transaction():
            if not await self._cas(request_id, "rejected", actor_id=actor_id, now=now, rejection_reason=reason):
                raise await self._processed_or_missing(request_id)
            view = await self._require(request_id)
            _, notices = await self.notifications.insert(
                title="QPU time request rejected",
                description=(
                    f"Your request for {_seconds_text(view.seconds_ms)} QPU-seconds was rejected. Reason: {reason}"
                ),
                severity="warning",
                start_time=None,
                end_time=None,
                target_users=[view.user_id],
                created_by=actor_id,
                now=now,
            )
            events = [await self._event("time_request.rejected", view, describe, now), *notices]
        return Decision(request=view, events=tuple(events))

    async def list(
        self,
        *,
        user_id: str | None,
        statuses: tuple[str, ...] = (),
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[TimeRequestView], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if user_id is not None:
            where.append("r.user_id = {}")
            args.append(user_id)
        if statuses:
            where.append("r.status IN (" + ", ".join("{}" for _ in statuses) + ")")
            args.extend(statuses)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.time_requests} r WHERE {cond}", *args)
        order = "DESC" if descending else "ASC"
        rows = await self.db.fetch(
            f"{self._select()} WHERE {cond} ORDER BY r.created {order}, r.id {order} LIMIT {{}} OFFSET {{}}",
            *args,
            limit,
            offset,
        )
        return rows_to(rows, TimeRequestView), int(total or 0)
