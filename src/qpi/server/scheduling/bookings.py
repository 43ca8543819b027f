"""Booking rules (``scheduling.md`` §6 B1-B8, ``api.md`` §2.8): validation of create, edit, delete, release.

Pure checks that raise the HTTP errors of the spec (the handler maps them in one place). The store
runs them inside the serialized booking transaction (C6) with:

- ``existing``: the other bookings that may overlap, e.g. ``WHERE start_time < :end AND end_time >
  :start`` (any superset works; the rule is applied here, and the edited booking is skipped by id);
- ``upcoming``: the booker's bookings that are active or in the future (``end_time > now``), the
  edited one excluded (B6);
- ``balance_ms``: the booker's balance (B8);
- the named QPU resolved by id or name (``BookingRequest.qpu``; ``None`` with ``qpu_ref`` set = not found).

Rules run in the order of the spec's table and the first failure answers. Users get every rule;
superusers only B1, B3 and B7 (and may book for anyone, in the past, at any length). Messages keep
upstream's key words "past", "overlap", "strictly before" and "already started".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from qpi.errors import (
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
)
from qpi.server.scheduling._time import require_aware
from qpi.server.scheduling.accounting import INSUFFICIENT_BALANCE_DETAIL
from qpi.server.scheduling.settings import BOOKING_PAST_TOLERANCE, BookingLimits

__all__ = [
    "Actor",
    "Booking",
    "BookingQpu",
    "BookingRequest",
    "booking_in_force",
    "bookings_overlap",
    "change_wakes_dispatcher",
    "check_create",
    "check_delete",
    "check_edit",
    "check_release",
    "find_overlap",
]

_ZERO = timedelta(0)


class Actor(msgspec.Struct, frozen=True):
    """The authenticated caller."""

    user_id: str
    is_superuser: bool = False


class BookingQpu(msgspec.Struct, frozen=True, kw_only=True):
    """A QPU named by a booking request."""

    id: str
    name: str = ""
    bookable: bool = True


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    """A stored booking (half-open ``[start, end)``; ``qpu_id`` ``None`` = every bookable QPU)."""

    id: str
    booked_by: str
    start: datetime
    end: datetime
    qpu_id: str | None = None


class BookingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The booking as it would be after a create or an edit (edits pass the merged values).

    ``qpu_ref`` is the QPU as the caller named it (id or name; ``None`` = all QPUs); ``qpu`` is the QPU
    it resolved to (``None`` when not found). ``booked_by`` ``None`` means the caller.
    """

    start: datetime
    end: datetime
    qpu_ref: str | None = None
    qpu: BookingQpu | None = None
    booked_by: str | None = None


def bookings_overlap(
    a_start: datetime,
    a_end: datetime,
    a_qpu: str | None,
    b_start: datetime,
    b_end: datetime,
    b_qpu: str | None,
) -> bool:
    """B3: half-open intervals intersect and they share a QPU (an all-QPU booking shares every QPU).

    Touching slots (``a.end == b.start``) do not overlap.
    """
    shares = a_qpu is None or b_qpu is None or a_qpu == b_qpu
    return shares and a_start < b_end and b_start < a_end


def find_overlap(
    start: datetime,
    end: datetime,
    qpu_id: str | None,
    existing: Iterable[Booking],
    *,
    exclude_id: str | None = None,
) -> Booking | None:
    """The first booking of ``existing`` (not ``exclude_id``) overlapping ``[start, end)`` on ``qpu_id``."""
    for other in existing:
        if other.id != exclude_id and bookings_overlap(start, end, qpu_id, other.start, other.end, other.qpu_id):
            return other
    return None


def booking_in_force(booking: Booking, now: datetime) -> bool:
    """``start <= now < end``."""
    return booking.start <= now < booking.end


def change_wakes_dispatcher(before: Booking | None, after: Booking | None, now: datetime) -> bool:
    """W2: a create/edit/release/delete changes ``[now, ∞)`` when the old or new interval ends after ``now``.

    Mark the booking's QPU dirty (both QPUs when an edit moves it; every QPU, ``*``, for all-QPU bookings).
    """
    return any(b is not None and b.end > now for b in (before, after))


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{delta.total_seconds():g} seconds"


def _forbidden(detail: str = "You can only change your own bookings.") -> PermissionDeniedError:
    return PermissionDeniedError(detail, code="forbidden")


def _check_rules(
    actor: Actor,
    req: BookingRequest,
    existing: Iterable[Booking],
    *,
    upcoming: int,
    balance_ms: int,
    limits: BookingLimits,
    now: datetime,
    exclude_id: str | None,
    check_past: bool,
) -> None:
    user = not actor.is_superuser
    if not req.start < req.end:  # B1
        raise BadRequestError("start_time must be strictly before end_time.", code="invalid_interval", field="end_time")
    if user and check_past and req.start < now - BOOKING_PAST_TOLERANCE:  # B2
        raise BadRequestError("Cannot book a slot in the past.", code="booking_in_past", field="start_time")
    unknown_qpu = req.qpu_ref is not None and req.qpu is None
    qpu_id = req.qpu.id if req.qpu is not None else None
    if not unknown_qpu and find_overlap(req.start, req.end, qpu_id, existing, exclude_id=exclude_id):  # B3
        raise ConflictError("The requested booking slot overlaps with an existing reservation.", code="booking_overlap")
    if user:
        length = req.end - req.start
        if limits.min_duration > _ZERO and length < limits.min_duration:  # B4
            raise BadRequestError(
                f"A booking must last at least {_human(limits.min_duration)}.",
                code="booking_too_short",
                field="end_time",
            )
        if limits.max_duration > _ZERO and length > limits.max_duration:
            raise BadRequestError(
                f"A booking may last at most {_human(limits.max_duration)}.",
                code="booking_too_long",
                field="end_time",
            )
        if limits.horizon > _ZERO and req.start > now + limits.horizon:  # B5
            raise BadRequestError(
                f"A booking may start at most {_human(limits.horizon)} ahead.",
                code="booking_too_far",
                field="start_time",
            )
        if limits.max_upcoming > 0 and upcoming >= limits.max_upcoming:  # B6
            raise BadRequestError(
                f"You already have {upcoming} active or upcoming bookings (limit {limits.max_upcoming}).",
                code="booking_limit_reached",
            )
    if unknown_qpu:  # B7
        raise NotFoundError(f"QPU {req.qpu_ref!r} not found.", code="qpu_not_found", field="qpu", status=400)
    if req.qpu is not None and not req.qpu.bookable:
        name = req.qpu.name or req.qpu.id
        raise BadRequestError(f"QPU {name!r} is not bookable.", code="qpu_not_bookable", field="qpu")
    if user and balance_ms <= 0:  # B8
        raise InsufficientBalanceError(INSUFFICIENT_BALANCE_DETAIL)


def check_create(
    actor: Actor,
    req: BookingRequest,
    existing: Iterable[Booking],
    *,
    upcoming: int,
    balance_ms: int,
    limits: BookingLimits,
    now: datetime,
) -> None:
    """Create: users book for themselves (B1-B8); superusers for anyone, even in the past (B1, B3, B7).

    Raises 403 ``forbidden`` when a user names another ``booked_by``; otherwise the first failing rule's
    error. ``upcoming`` and ``balance_ms`` are the booker's (the caller, for a user).
    """
    require_aware(now)
    if not actor.is_superuser and req.booked_by not in (None, actor.user_id):
        raise _forbidden("Only a superuser may book a slot for another user.")
    _check_rules(
        actor,
        req,
        existing,
        upcoming=upcoming,
        balance_ms=balance_ms,
        limits=limits,
        now=now,
        exclude_id=None,
        check_past=True,
    )


def check_edit(
    actor: Actor,
    current: Booking,
    req: BookingRequest,
    existing: Iterable[Booking],
    *,
    upcoming: int,
    balance_ms: int,
    limits: BookingLimits,
    now: datetime,
) -> None:
    """Edit (start, end, qpu, note): the owner while ``start > now``; a superuser at any time.

    For users, in order: not the owner → 403 ``forbidden``; already started → 400 ``booking_started``;
    a change of ``booked_by`` → 403 ``forbidden``; a new start in the past (60 s tolerance, as B2) →
    400 ``booking_in_past``; then B1-B8 on the merged values ``req`` (the booking itself excluded from
    B3 and from ``upcoming``).
    """
    require_aware(now)
    if not actor.is_superuser:
        if current.booked_by != actor.user_id:
            raise _forbidden()
        if current.start <= now:
            raise BadRequestError("Cannot modify a booking slot that has already started.", code="booking_started")
        if req.booked_by not in (None, current.booked_by):
            raise _forbidden("Only a superuser may change who holds a booking.")
        if req.start < now - BOOKING_PAST_TOLERANCE:
            raise BadRequestError(
                "Cannot reschedule a booking slot to a start time in the past.",
                code="booking_in_past",
                field="start_time",
            )
    _check_rules(
        actor,
        req,
        existing,
        upcoming=upcoming,
        balance_ms=balance_ms,
        limits=limits,
        now=now,
        exclude_id=current.id,
        check_past=False,
    )


def check_delete(actor: Actor, booking: Booking, now: datetime) -> bool:
    """Delete (cancel): the owner while ``start > now``; a superuser at any time.

    Returns whether the booking was in force (deleting it ends the slot at once: wake the dispatcher).
    """
    require_aware(now)
    if not actor.is_superuser:
        if booking.booked_by != actor.user_id:
            raise _forbidden()
        if booking.start <= now:
            raise BadRequestError(
                "Cannot delete/cancel a booking slot that has already started.", code="booking_started"
            )
    return booking_in_force(booking, now)


def check_release(actor: Actor, booking: Booking, now: datetime) -> datetime:
    """Release early: the owner or a superuser, while the slot is in force.

    Returns the new ``end_time`` (= ``released_at`` = ``now``). Not in force → 409 ``booking_not_active``.
    """
    require_aware(now)
    if not actor.is_superuser and booking.booked_by != actor.user_id:
        raise _forbidden()
    if not booking_in_force(booking, now):
        raise ConflictError("The booking is not in force, so it cannot be released.", code="booking_not_active")
    return now
