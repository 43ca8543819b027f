"""Booking rules B1-B8 and the edit/delete/release permissions (``scheduling.md`` §6, ``api.md`` §2.8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.errors import (
    APIError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
)
from qpi.server.scheduling import (
    Actor,
    Booking,
    BookingLimits,
    BookingQpu,
    BookingRequest,
    bookings_overlap,
    change_wakes_dispatcher,
    check_create,
    check_delete,
    check_edit,
    check_release,
    find_overlap,
)

NOW = datetime(2026, 7, 24, 12, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
LIMITS = BookingLimits()
ALICE = Actor("alice")
ROOT = Actor("root", is_superuser=True)
Q1 = BookingQpu(id="q1", name="q1")
Q2 = BookingQpu(id="q2", name="q2")
EXISTING = [
    Booking(id="k1", booked_by="bob", start=NOW + 2 * H, end=NOW + 3 * H, qpu_id="q1"),
    Booking(id="k2", booked_by="bob", start=NOW + 5 * H, end=NOW + 6 * H, qpu_id=None),
]


def req(start: timedelta, end: timedelta, qpu: BookingQpu | None = Q1, **kw: object) -> BookingRequest:
    ref = kw.pop("qpu_ref", qpu.id if qpu is not None else None)
    return BookingRequest(start=NOW + start, end=NOW + end, qpu=qpu, qpu_ref=ref, **kw)  # type: ignore[arg-type]


def create(actor: Actor, request: BookingRequest, *, upcoming: int = 0, balance_ms: int = 1_000) -> None:
    check_create(actor, request, EXISTING, upcoming=upcoming, balance_ms=balance_ms, limits=LIMITS, now=NOW)


def error_of(fn: object, *args: object, **kw: object) -> APIError:
    with pytest.raises(APIError) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


# (request, kwargs, error class, status, code, key word in the detail)
USER_CASES = [
    (req(2 * H, 2 * H), {}, BadRequestError, 400, "invalid_interval", "strictly before"),
    (req(-2 * M, H), {}, BadRequestError, 400, "booking_in_past", "past"),
    (req(2 * H + 30 * M, 4 * H), {}, ConflictError, 409, "booking_overlap", "overlap"),
    (
        req(4 * H + 30 * M, 5 * H + 30 * M, Q2),
        {},
        ConflictError,
        409,
        "booking_overlap",
        "overlap",
    ),  # all-QPU k2
    (
        req(H, H + 30 * timedelta(seconds=1)),
        {},
        BadRequestError,
        400,
        "booking_too_short",
        "at least 1 minute",
    ),
    (req(7 * H, 20 * H), {}, BadRequestError, 400, "booking_too_long", "at most 12 hours"),
    (req(31 * 24 * H, 31 * 24 * H + H), {}, BadRequestError, 400, "booking_too_far", "30 days"),
    (req(H, 2 * H), {"upcoming": 5}, BadRequestError, 400, "booking_limit_reached", "limit 5"),
    (req(H, 2 * H, None, qpu_ref="nope"), {}, NotFoundError, 400, "qpu_not_found", "not found"),
    (
        req(H, 2 * H, BookingQpu(id="q3", name="q3", bookable=False)),
        {},
        BadRequestError,
        400,
        "qpu_not_bookable",
        "not bookable",
    ),
    (req(H, 2 * H), {"balance_ms": 0}, InsufficientBalanceError, 403, "insufficient_balance", "Insufficient"),
]


@pytest.mark.parametrize(("request_", "kw", "cls", "status", "code", "word"), USER_CASES)
def test_user_create_rules(
    request_: BookingRequest, kw: dict[str, int], cls: type[APIError], status: int, code: str, word: str
) -> None:
    err = error_of(create, ALICE, request_, **kw)
    assert isinstance(err, cls)
    assert (err.status_code, err.code) == (status, code)
    assert word in err.detail


def test_exact_upstream_messages() -> None:
    assert error_of(create, ALICE, req(2 * H, H)).detail == "start_time must be strictly before end_time."
    assert error_of(create, ALICE, req(-H, H)).detail == "Cannot book a slot in the past."
    assert error_of(create, ALICE, req(2 * H, 3 * H)).detail == (
        "The requested booking slot overlaps with an existing reservation."
    )


def test_user_create_accepts_a_valid_booking_and_the_limits_edges() -> None:
    create(ALICE, req(H, 2 * H))
    create(ALICE, req(-59 * timedelta(seconds=1), H))  # 60 s tolerance of B2
    create(ALICE, req(3 * H, 4 * H))  # touching k1 is fine
    create(ALICE, req(H, H + M))  # exactly the minimum
    create(ALICE, req(6 * H, 18 * H, Q2))  # exactly the maximum, after k2
    create(ALICE, req(30 * 24 * H, 30 * 24 * H + H))  # exactly at the horizon
    create(ALICE, req(H, 2 * H), upcoming=4)
    create(ALICE, req(H, 2 * H, booked_by="alice"))


def test_rules_run_in_table_order() -> None:
    # In the past AND overlapping AND too long AND no balance: B2 answers first.
    err = error_of(create, ALICE, req(-H, 20 * H), balance_ms=0)
    assert err.code == "booking_in_past"
    # Overlap before length.
    assert error_of(create, ALICE, req(2 * H, 20 * H)).code == "booking_overlap"
    # An unknown QPU cannot overlap anything; it is reported by B7.
    assert error_of(create, ALICE, req(5 * H, 6 * H, None, qpu_ref="nope")).code == "qpu_not_found"


def test_limits_can_be_turned_off() -> None:
    off = BookingLimits(min_duration=timedelta(0), max_duration=timedelta(0), horizon=timedelta(0), max_upcoming=0)
    check_create(ALICE, req(400 * 24 * H, 420 * 24 * H, Q2), [], upcoming=99, balance_ms=1, limits=off, now=NOW)


def test_superuser_create_skips_user_limits_but_not_interval_overlap_or_qpu() -> None:
    create(ROOT, req(-5 * H, -4 * H), balance_ms=0)  # past, no balance
    create(ROOT, req(7 * H, 30 * H + 24 * 40 * H, Q1, booked_by="carol"), upcoming=50)  # long, far, for someone
    assert error_of(create, ROOT, req(H, H)).code == "invalid_interval"
    assert error_of(create, ROOT, req(2 * H, 3 * H)).code == "booking_overlap"
    assert error_of(create, ROOT, req(H, 2 * H, None, qpu_ref="nope")).code == "qpu_not_found"
    bad = BookingQpu(id="q3", bookable=False)
    assert error_of(create, ROOT, req(H, 2 * H, bad)).code == "qpu_not_bookable"


def test_user_cannot_book_for_someone_else() -> None:
    err = error_of(create, ALICE, req(H, 2 * H, booked_by="bob"))
    assert isinstance(err, PermissionDeniedError)
    assert (err.status_code, err.code) == (403, "forbidden")


def test_overlap_predicate() -> None:
    a, b = NOW, NOW + H
    assert bookings_overlap(a, b, "q1", a + 30 * M, b + H, "q1")
    assert not bookings_overlap(a, b, "q1", a + 30 * M, b + H, "q2")
    assert bookings_overlap(a, b, None, a + 30 * M, b + H, "q2")
    assert bookings_overlap(a, b, "q2", a + 30 * M, b + H, None)
    assert not bookings_overlap(a, b, "q1", b, b + H, "q1")  # touching
    assert not bookings_overlap(a, b, None, a - H, a, None)
    assert find_overlap(NOW + 2 * H, NOW + 3 * H, "q1", EXISTING, exclude_id="k1") is None
    assert find_overlap(NOW + 2 * H, NOW + 3 * H, "q1", EXISTING) == EXISTING[0]


MINE_FUTURE = Booking(id="m1", booked_by="alice", start=NOW + H, end=NOW + 2 * H, qpu_id="q1")
MINE_STARTED = Booking(id="m2", booked_by="alice", start=NOW - M, end=NOW + H, qpu_id="q1")
BOBS = Booking(id="b1", booked_by="bob", start=NOW + H, end=NOW + 2 * H, qpu_id="q2")


def edit(actor: Actor, current: Booking, request: BookingRequest, **kw: int) -> None:
    existing = [*EXISTING, MINE_FUTURE, MINE_STARTED, BOBS]
    check_edit(
        actor,
        current,
        request,
        existing,
        upcoming=kw.get("upcoming", 1),
        balance_ms=kw.get("balance_ms", 1),
        limits=LIMITS,
        now=NOW,
    )


def test_user_edit_rules() -> None:
    edit(ALICE, MINE_FUTURE, req(H + 30 * M, 2 * H))  # overlaps only itself: fine
    err = error_of(edit, ALICE, BOBS, req(H, 2 * H, Q2))
    assert (err.status_code, err.code) == (403, "forbidden")
    err = error_of(edit, ALICE, MINE_STARTED, req(H, 2 * H))
    assert (err.status_code, err.code) == (400, "booking_started")
    assert err.detail == "Cannot modify a booking slot that has already started."
    err = error_of(edit, ALICE, MINE_FUTURE, req(-H, H))
    assert (err.code, err.detail) == (
        "booking_in_past",
        "Cannot reschedule a booking slot to a start time in the past.",
    )
    err = error_of(edit, ALICE, MINE_FUTURE, req(H, 2 * H, booked_by="bob"))
    assert (err.status_code, err.code) == (403, "forbidden")
    assert error_of(edit, ALICE, MINE_FUTURE, req(2 * H, 3 * H)).code == "booking_overlap"
    assert error_of(edit, ALICE, MINE_FUTURE, req(7 * H, 20 * H, Q2)).code == "booking_too_long"
    assert error_of(edit, ALICE, MINE_FUTURE, req(H, 2 * H), upcoming=5).code == "booking_limit_reached"
    assert error_of(edit, ALICE, MINE_FUTURE, req(H, 2 * H), balance_ms=0).code == "insufficient_balance"


def test_superuser_edits_anything_at_any_time() -> None:
    edit(ROOT, MINE_STARTED, req(-H, 30 * M, booked_by="carol"), balance_ms=0, upcoming=40)
    edit(ROOT, BOBS, req(7 * H, 30 * H, Q2))
    assert error_of(edit, ROOT, MINE_STARTED, req(2 * H, 3 * H)).code == "booking_overlap"


def test_delete_rules() -> None:
    assert check_delete(ALICE, MINE_FUTURE, NOW) is False
    err = error_of(check_delete, ALICE, MINE_STARTED, NOW)
    assert (err.code, err.detail) == (
        "booking_started",
        "Cannot delete/cancel a booking slot that has already started.",
    )
    assert error_of(check_delete, ALICE, BOBS, NOW).code == "forbidden"
    assert check_delete(ROOT, MINE_STARTED, NOW) is True  # in force: ends at once, wake the dispatcher
    assert check_delete(ROOT, BOBS, NOW) is False


def test_release_rules() -> None:
    assert check_release(ALICE, MINE_STARTED, NOW) == NOW
    assert check_release(ROOT, MINE_STARTED, NOW) == NOW
    err = error_of(check_release, ALICE, MINE_FUTURE, NOW)
    assert (err.status_code, err.code) == (409, "booking_not_active")
    assert error_of(check_release, Actor("bob"), MINE_STARTED, NOW).code == "forbidden"
    ended = Booking(id="e", booked_by="alice", start=NOW - H, end=NOW)
    assert error_of(check_release, ALICE, ended, NOW).code == "booking_not_active"


def test_changes_that_wake_the_dispatcher() -> None:
    past = Booking(id="p", booked_by="a", start=NOW - 2 * H, end=NOW - H)
    assert change_wakes_dispatcher(None, MINE_FUTURE, NOW)
    assert change_wakes_dispatcher(MINE_STARTED, None, NOW)
    assert not change_wakes_dispatcher(past, None, NOW)
    assert change_wakes_dispatcher(past, MINE_FUTURE, NOW)
