"""Bookings (time slots, ``scheduling.md`` §6): reads, and the serialized create/edit/delete/release.

Every write runs in one transaction that first takes the bookings lock (C6): a transaction-scoped
advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` (one writer) on SQLite. Inside it the store reads
what the pure rules of :mod:`qpi.server.scheduling.bookings` need (overlap candidates, the booker's
upcoming count and balance, the named QPU), lets them decide, writes, and appends the event, so two
concurrent overlapping requests cannot both win.

Event data is shaped by the caller (``describe``): the store does not know the API's JSON.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.scheduling.bookings import (
    Actor,
    Booking,
    BookingQpu,
    BookingRequest,
    check_create,
    check_delete,
    check_edit,
    check_release,
)
from qpi.server.scheduling.settings import BookingLimits
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.names import TableNames
from qpi.server.store.rows import BookingRow, EventRow

__all__ = [
    "BOOKING_LOCK_KEY",
    "BookingChange",
    "BookingEdit",
    "BookingFilter",
    "Bookings",
    "Describe",
    "as_booking",
    "instant",
]

#: The key of ``pg_advisory_xact_lock`` that serializes booking writes (C6): "QPIB".
BOOKING_LOCK_KEY = 0x51504942

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Builds an event's ``data`` from a booking row (the API's public Booking shape).
Describe = Callable[[BookingRow], dict[str, Any]]


def instant(us: int) -> datetime:
    """Exact integer microseconds → aware UTC datetime (no float rounding)."""
    return _EPOCH + timedelta(microseconds=us)


def as_booking(row: BookingRow) -> Booking:
    return Booking(
        id=row.id, booked_by=row.booked_by, start=instant(row.start_time), end=instant(row.end_time), qpu_id=row.qpu_id
    )


class BookingFilter(msgspec.Struct, frozen=True, kw_only=True):
    """``qpu_id`` also matches all-QPU bookings; ``[window_from, window_to)`` keeps bookings overlapping it."""

    qpu_id: str | None = None
    window_from: int | None = None
    window_to: int | None = None
    booked_by: tuple[str, ...] = ()
    descending: bool = False


class BookingEdit(msgspec.Struct, frozen=True, kw_only=True):
    """The fields a PATCH changes (``None``/UNSET = unchanged; ``qpu_ref`` ``None`` = all QPUs)."""

    start: int | None = None
    end: int | None = None
    qpu_ref: str | msgspec.UnsetType | None = msgspec.UNSET
    note: str | None = None
    booked_by: str | None = None


class BookingChange(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a committed write: the booking before and after (``None`` = absent), and the
    events appended (publish them after the commit)."""

    before: BookingRow | None
    after: BookingRow | None
    events: tuple[EventRow, ...] = ()


class Bookings:
    def __init__(self, db: Db, names: TableNames, events: Events) -> None:
        self.db = db
        self.n = names
        self.events = events

    # --- reads --------------------------------------------------------------------------------

    def _select(self) -> str:
        n = self.n
        return (
            "SELECT b.id, b.qpu_id, b.booked_by, b.start_time, b.end_time, b.note, b.released_at, b.created, "
            "b.updated, q.name AS qpu_name, u.name AS booked_by_name, u.email AS booked_by_email "
            f"FROM {n.time_slots} b JOIN {n.users} u ON u.id = b.booked_by LEFT JOIN {n.qpus} q ON q.id = b.qpu_id"
        )

    async def get(self, booking_id: str) -> BookingRow | None:
        row = await self.db.fetchone(f"{self._select()} WHERE b.id = {{}}", booking_id)
        return to_row(row, BookingRow) if row else None

    # --- serialized writes ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _serialized(self) -> AsyncIterator[None]:
        """C6: one booking writer at a time (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
        async with self.db.transaction():
            if self.db.dialect == "postgres":
                await self.db.execute("SELECT pg_advisory_xact_lock({})", BOOKING_LOCK_KEY)
            yield

    async def _qpu(self, ref: str | None) -> BookingQpu | None:
        if ref is None:
            return None
        row = await self.db.fetchone(
            f"SELECT id, name, bookable FROM {self.n.qpus} WHERE id = {{}} OR name = {{}} "
            "ORDER BY CASE WHEN id = {} THEN 0 ELSE 1 END LIMIT 1",
            ref,
            ref,
            ref,
        )
        if row is None:
            return None
        return BookingQpu(id=row["id"], name=row["name"], bookable=bool(row["bookable"]))

    async def _candidates(self, start: int, end: int) -> list[Booking]:
        """Bookings whose interval intersects ``[start, end)`` on any QPU (the pure rule picks)."""
        rows = await self.db.fetch(
            f"SELECT id, booked_by, start_time, end_time, qpu_id FROM {self.n.time_slots} "
            "WHERE start_time < {} AND end_time > {}",
            end,
            start,
        )
        return [
            Booking(
                id=r["id"],
                booked_by=r["booked_by"],
                start=instant(r["start_time"]),
                end=instant(r["end_time"]),
                qpu_id=r["qpu_id"],
            )
            for r in rows
        ]

    async def _balance(self, actor: Actor, booker: str) -> int:
        """The booker's balance (B8). A superuser naming an unknown user gets 400 ``unknown_user``; a
        user naming someone else is refused (403) by the pure rules first, so nothing is read then."""
        if not actor.is_superuser and booker != actor.user_id:
            return 0
        balance = await self.db.fetchval(f"SELECT balance_ms FROM {self.n.users} WHERE id = {{}}", booker)
        if balance is None:
            raise BadRequestError(f"user {booker!r} not found", code="unknown_user", field="booked_by")
        return int(balance)

    async def _upcoming(self, user_id: str, now: int, exclude_id: str | None) -> int:
        count = await self.db.fetchval(
            f"SELECT COUNT(*) AS c FROM {self.n.time_slots} WHERE booked_by = {{}} AND end_time > {{}} AND id <> {{}}",
            user_id,
            now,
            exclude_id or "",
        )
        return int(count or 0)

    async def _event(self, kind: str, row: BookingRow, describe: Describe, now: int) -> EventRow:
        return await self.events.append(
            NewEvent(kind, "public", describe(row), qpu=row.qpu_id, user_id=row.booked_by), now=now
        )

    async def create(
        self,
        actor: Actor,
        *,
        start: int,
        end: int,
        qpu_ref: str | None,
        note: str,
        booked_by: str | None,
        limits: BookingLimits,
        now: int,
        describe: Describe,
    ) -> BookingChange:
        """Check B1-B8 (superusers: B1, B3, B7) and insert, under the bookings lock."""
        booker = booked_by or actor.user_id
        async with self._serialized():
            qpu = await self._qpu(qpu_ref)
            balance = await self._balance(actor, booker)
            req = BookingRequest(start=instant(start), end=instant(end), qpu_ref=qpu_ref, qpu=qpu, booked_by=booked_by)
            check_create(
                actor,
                req,
                await self._candidates(start, end),
                upcoming=await self._upcoming(booker, now, None),
                balance_ms=balance,
                limits=limits,
                now=instant(now),
            )
            booking_id = new_id()
            await self.db.execute(
                f"INSERT INTO {self.n.time_slots} (id, qpu_id, booked_by, start_time, end_time, note, created, "
                "updated) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
                booking_id,
                qpu.id if qpu is not None else None,
                booker,
                start,
                end,
                note,
                now,
                now,
            )
            row = await self.get(booking_id)
            assert row is not None
            event = await self._event("booking.created", row, describe, now)
        return BookingChange(before=None, after=row, events=(event,))

    async def _current(self, booking_id: str) -> BookingRow:
        row = await self.get(booking_id)
        if row is None:
            raise NotFoundError(f"booking {booking_id} not found")
        return row

    async def edit(
        self,
        actor: Actor,
        booking_id: str,
        change: BookingEdit,
        *,
        limits: BookingLimits,
        now: int,
        describe: Describe,
    ) -> BookingChange:
        """Edit start, end, QPU, note (and, for superusers, the holder) under the bookings lock."""
        async with self._serialized():
            current = await self._current(booking_id)
            start = change.start if change.start is not None else current.start_time
            end = change.end if change.end is not None else current.end_time
            booker = change.booked_by or current.booked_by
            if isinstance(change.qpu_ref, msgspec.UnsetType):
                qpu_ref: str | None = current.qpu_id
            else:
                qpu_ref = change.qpu_ref
            qpu = await self._qpu(qpu_ref)
            balance = await self._balance(actor, booker)
            req = BookingRequest(
                start=instant(start), end=instant(end), qpu_ref=qpu_ref, qpu=qpu, booked_by=change.booked_by
            )
            check_edit(
                actor,
                as_booking(current),
                req,
                await self._candidates(start, end),
                upcoming=await self._upcoming(booker, now, current.id),
                balance_ms=balance,
                limits=limits,
                now=instant(now),
            )
            await self.db.execute(
                f"UPDATE {self.n.time_slots} SET start_time = {{}}, end_time = {{}}, qpu_id = {{}}, note = {{}}, "
                "booked_by = {}, updated = {} WHERE id = {}",
                start,
                end,
                qpu.id if qpu is not None else None,
                change.note if change.note is not None else current.note,
                booker,
                now,
                current.id,
            )
            after = await self._current(current.id)
            event = await self._event("booking.updated", after, describe, now)
        return BookingChange(before=current, after=after, events=(event,))

    async def delete(self, actor: Actor, booking_id: str, *, now: int, describe: Describe) -> BookingChange:
        """Cancel: the owner while it has not started; a superuser at any time (a slot in force ends)."""
        async with self._serialized():
            current = await self._current(booking_id)
            check_delete(actor, as_booking(current), instant(now))
            await self.db.execute(f"DELETE FROM {self.n.time_slots} WHERE id = {{}}", current.id)
            event = await self._event("booking.deleted", current, describe, now)
        return BookingChange(before=current, after=None, events=(event,))

    async def release(self, actor: Actor, booking_id: str, *, now: int, describe: Describe) -> BookingChange:
        """End a booking in force now: ``end_time = released_at = now``."""
        async with self._serialized():
            current = await self._current(booking_id)
            check_release(actor, as_booking(current), instant(now))
            # in force means start <= now < end; at the very first microsecond keep start < end
            end = max(now, current.start_time + 1)
            await self.db.execute(
                f"UPDATE {self.n.time_slots} SET end_time = {{}}, released_at = {{}}, updated = {{}} WHERE id = {{}}",
                end,
                now,
                now,
                current.id,
            )
            after = await self._current(current.id)
            event = await self._event("booking.updated", after, describe, now)
        return BookingChange(before=current, after=after, events=(event,))

    async def list(self, flt: BookingFilter, *, limit: int = 50, offset: int = 0) -> tuple[list[BookingRow], int]:
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if flt.qpu_id is not None:
            where.append("(b.qpu_id = {} OR b.qpu_id IS NULL)")
            args.append(flt.qpu_id)
        if flt.window_from is not None:
            where.append("b.end_time > {}")
            args.append(flt.window_from)
        if flt.window_to is not None:
            where.append("b.start_time < {}")
            args.append(flt.window_to)
        for user_id in flt.booked_by:
            where.append("b.booked_by = {}")
            args.append(user_id)
        cond = " AND ".join(where)
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.time_slots} b WHERE {cond}", *args)
        order = "DESC" if flt.descending else "ASC"
        rows = await self.db.fetch(
            f"{self._select()} WHERE {cond} ORDER BY b.start_time {order}, b.id {order} LIMIT {{}} OFFSET {{}}",
            *args,
            limit,
            offset,
        )
        return rows_to(rows, BookingRow), int(total or 0)
