"""Bookings (api.md §2.8, scheduling.md §6 B1-B9, §10 C6) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

H = 3600.0


async def test_create_list_and_privacy(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user(name="alice")
    bob = await res.user(name="bob")
    sim = await res.qpu(admin, "sim")
    r = await res.book(alice, H, 2 * H, qpu="sim", note="calibration run")
    assert r.status_code == 201, r.text
    mine = r.json()
    assert r.headers["Location"] == f"/api/bookings/{mine['id']}"
    assert mine["qpu"] == {"id": sim["id"], "name": "sim"}
    assert mine["booked_by"] == {"id": alice.id, "name": "alice", "email": alice.email}
    assert mine["note"] == "calibration run" and mine["mine"] is True and mine["released_at"] is None
    assert mine["start_time"].endswith("Z") and res.parse(mine["end_time"]) - res.parse(
        mine["start_time"]
    ) == timedelta(hours=1)
    # an all-QPU booking (qpu omitted) by bob, later
    r = await res.book(bob, 3 * H, 4 * H)
    assert r.status_code == 201, r.text
    assert r.json()["qpu"] is None

    # everyone sees every booking; the note and the e-mail only the owner and superusers
    r = await res.get("/api/bookings", bob)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    seen = {b["id"]: b for b in r.json()}
    other = seen[mine["id"]]
    assert other["note"] is None and other["booked_by"] == {"id": alice.id, "name": "alice", "email": None}
    assert other["mine"] is False
    r = await res.get(f"/api/bookings/{mine['id']}", admin)
    assert r.json()["note"] == "calibration run" and r.json()["booked_by"]["email"] == alice.email
    r = await res.get(f"/api/bookings/{mine['id']}", alice)
    assert r.json() == mine
    res.error(await res.get("/api/bookings/nosuchbooking00", alice), 404, "not_found")
    res.error(await res.client.get("/api/bookings"), 401, "unauthenticated")

    # filters: qpu includes all-QPU bookings; window; mine; user (superusers); sort
    r = await res.get("/api/bookings", alice, qpu="sim")
    assert len(r.json()) == 2
    r = await res.get("/api/bookings", alice, qpu="nope")
    assert r.json() == []
    r = await res.get("/api/bookings", alice, **{"from": res.ts(2 * H), "to": res.ts(5 * H)})
    assert [b["booked_by"]["id"] for b in r.json()] == [bob.id]  # touching alice's end is outside
    r = await res.get("/api/bookings", alice, mine="true")
    assert [b["id"] for b in r.json()] == [mine["id"]]
    r = await res.get("/api/bookings", admin, user=bob.id)
    assert [b["booked_by"]["id"] for b in r.json()] == [bob.id]
    res.error(await res.get("/api/bookings", alice, user=bob.id), 400, "invalid_request")
    r = await res.get("/api/bookings", alice, sort="-start_time")
    assert [b["booked_by"]["id"] for b in r.json()] == [bob.id, alice.id]
    res.error(await res.get("/api/bookings", alice, sort="note"), 400, "invalid_sort")
    res.error(await res.get("/api/bookings", alice, since="x"), 400, "invalid_request")
    res.error(await res.get("/api/bookings", alice, **{"from": "2026-07-24T10:00:00"}), 400, "invalid_request")
    r = await res.get("/api/bookings", alice, per_page=1, page=2)
    assert len(r.json()) == 1 and r.headers["X-Total-Pages"] == "2"


async def test_body_validation(res: Any) -> None:
    alice = await res.user()
    res.error(await res.book(alice, H, 2 * H, colour="red"), 400, "unknown_field")
    res.error(await res.book(alice, H, 2 * H, note="x" * 501), 400, "invalid_request")
    r = await res.post("/api/bookings", alice, {"start_time": "2030-01-01T10:00:00", "end_time": res.ts(2 * H)})
    assert res.error(r, 400, "invalid_request")["field"] == "start_time"
    res.error(await res.post("/api/bookings", alice, {"end_time": res.ts(2 * H)}), 400, "invalid_request")


async def test_rules_for_users_and_superuser_exemptions(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    broke = await res.user(seconds=0)
    await res.qpu(admin, "sim")
    await res.qpu(admin, "closed")
    assert (await res.patch("/api/qpus/closed", admin, {"bookable": False})).status_code == 200
    await res.qpu(admin, "down", enabled=False)

    # B1, for everyone
    for who in (alice, admin):
        res.error(await res.book(who, 2 * H, H), 400, "invalid_interval", "strictly before")
        start = res.ts(H)
        r = await res.post("/api/bookings", who, {"start_time": start, "end_time": start})
        res.error(r, 400, "invalid_interval", "strictly before")
    # B2: users cannot book in the past (60 s tolerance); superusers may
    res.error(await res.book(alice, -10 * 60, H), 400, "booking_in_past", "past")
    r = await res.book(alice, -20, 10 * 60, qpu="sim")
    assert r.status_code == 201, r.text
    assert (await res.book(admin, -3 * H, -2 * H, qpu="sim")).status_code == 201
    # B4: length, users only
    res.error(await res.book(alice, 5 * H, 5 * H + 30), 400, "booking_too_short")
    res.error(await res.book(alice, 5 * H, 18 * H), 400, "booking_too_long")
    assert (await res.book(admin, 5 * H, 5 * H + 30, qpu="sim")).status_code == 201
    assert (await res.book(admin, 24 * H, 48 * H, qpu="sim")).status_code == 201
    # B5: horizon, users only
    res.error(await res.book(alice, 31 * 24 * H, 31 * 24 * H + H), 400, "booking_too_far")
    assert (await res.book(admin, 40 * 24 * H, 40 * 24 * H + H, qpu="sim")).status_code == 201
    # B7: the named QPU exists and is bookable (a disabled QPU may be booked), for everyone
    for who in (alice, admin):
        res.error(await res.book(who, 60 * H, 61 * H, qpu="nope"), 400, "qpu_not_found")
        res.error(await res.book(who, 60 * H, 61 * H, qpu="closed"), 400, "qpu_not_bookable")
    assert (await res.book(alice, 60 * H, 61 * H, qpu="down")).status_code == 201
    # B8: a user needs a positive balance; a superuser may book for a broke user
    res.error(await res.book(broke, 60 * H, 61 * H, qpu="sim"), 403, "insufficient_balance")
    r = await res.book(admin, 60 * H, 61 * H, qpu="sim", booked_by=broke.id)
    assert r.status_code == 201 and r.json()["booked_by"]["id"] == broke.id
    # booking for someone else: superusers only; an unknown user is refused
    res.error(await res.book(alice, 70 * H, 71 * H, qpu="sim", booked_by=broke.id), 403, "forbidden")
    res.error(await res.book(admin, 70 * H, 71 * H, qpu="sim", booked_by="nosuchuser00000"), 400, "unknown_user")
    # B6: at most 5 active or upcoming bookings per user (alice has 2); superusers are not counted
    for i in range(3):
        assert (await res.book(alice, (80 + i) * H, (81 + i) * H, qpu="sim")).status_code == 201
    res.error(await res.book(alice, 90 * H, 91 * H, qpu="sim"), 400, "booking_limit_reached")
    for i in range(6):
        assert (await res.book(admin, (100 + i) * H, (101 + i) * H, qpu="sim")).status_code == 201
    # a past booking does not count: a superuser's booking for alice in the past is not "upcoming"
    assert (await res.book(admin, -10 * H, -9 * H, qpu="down", booked_by=alice.id)).status_code == 201
    res.error(await res.book(alice, 90 * H, 91 * H, qpu="sim"), 400, "booking_limit_reached")


async def test_overlap(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    bob = await res.user()
    await res.qpu(admin, "a")
    await res.qpu(admin, "b")
    assert (await res.book(alice, 2 * H, 3 * H, qpu="a")).status_code == 201
    for who in (bob, admin, alice):
        res.error(await res.book(who, 2.5 * H, 3.5 * H, qpu="a"), 409, "booking_overlap", "overlap")
    res.error(await res.book(bob, 1.5 * H, 2.5 * H), 409, "booking_overlap", "overlap")  # all QPUs share "a"
    # touching slots are fine, and another QPU is free
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
    first = {"start_time": res.ts(0, base=start), "end_time": res.ts(H, base=start), "qpu": "a"}
    assert (await res.post("/api/bookings", bob, first)).status_code == 201
    second = {"start_time": res.ts(H, base=start), "end_time": res.ts(2 * H, base=start), "qpu": "a"}
    assert (await res.post("/api/bookings", alice, second)).status_code == 201
    assert (await res.book(bob, 2 * H, 3 * H, qpu="b")).status_code == 201
    # an all-QPU booking conflicts with any per-QPU one
    res.error(await res.book(admin, 2.9 * H, 4 * H), 409, "booking_overlap")
    assert (await res.book(admin, 3 * H, 4 * H)).status_code == 201


async def test_edit(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    bob = await res.user()
    await res.qpu(admin, "sim")
    await res.qpu(admin, "other")
    booking = (await res.book(alice, 2 * H, 3 * H, qpu="sim", note="a")).json()
    path = f"/api/bookings/{booking['id']}"
    r = await res.patch(path, alice, {"start_time": res.ts(4 * H), "end_time": res.ts(5 * H), "note": "moved"})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["note"] == "moved" and res.parse(moved["start_time"]) > res.parse(booking["start_time"])
    assert moved["updated"] >= booking["updated"] and moved["created"] == booking["created"]
    r = await res.patch(path, alice, {"qpu": "other"})
    assert r.json()["qpu"]["name"] == "other" and r.json()["start_time"] == moved["start_time"]
    r = await res.patch(path, alice, {"qpu": None})
    assert r.status_code == 200 and r.json()["qpu"] is None
    # the create rules apply to the merged values
    res.error(await res.patch(path, alice, {"end_time": res.ts(3 * H)}), 400, "invalid_interval", "strictly before")
    res.error(await res.patch(path, alice, {"end_time": res.ts(20 * H)}), 400, "booking_too_long")
    res.error(await res.patch(path, alice, {"qpu": "nope"}), 400, "qpu_not_found")
    res.error(await res.patch(path, alice, {"start_time": res.ts(-H)}), 400, "booking_in_past", "past")
    assert (await res.book(bob, 6 * H, 7 * H, qpu="sim")).status_code == 201
    res.error(await res.patch(path, alice, {"end_time": res.ts(6.5 * H)}), 409, "booking_overlap", "overlap")
    # only the owner (or a superuser) edits; only a superuser changes the holder
    res.error(await res.patch(path, bob, {"note": "mine now"}), 403, "forbidden")
    res.error(await res.patch(path, alice, {"booked_by": bob.id}), 403, "forbidden")
    res.error(await res.patch("/api/bookings/nosuchbooking00", alice, {"note": "x"}), 404, "not_found")
    res.error(await res.patch(path, alice, {"colour": "red"}), 400, "unknown_field")
    r = await res.patch(path, admin, {"booked_by": bob.id})
    assert r.status_code == 200 and r.json()["booked_by"]["id"] == bob.id and r.json()["mine"] is False
    # a started booking: users may not edit it, superusers may
    running = (await res.book(alice, -30, H, qpu="sim")).json()
    running_path = f"/api/bookings/{running['id']}"
    res.error(await res.patch(running_path, alice, {"note": "x"}), 400, "booking_started", "already started")
    r = await res.patch(running_path, admin, {"end_time": res.ts(2 * H - 60)})
    assert r.status_code == 200, r.text


async def test_delete_and_release(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    bob = await res.user()
    sim = await res.qpu(admin, "sim")
    future = (await res.book(alice, 2 * H, 3 * H, qpu="sim")).json()
    res.error(await res.delete(f"/api/bookings/{future['id']}", bob), 403, "forbidden")
    res.error(await res.post(f"/api/bookings/{future['id']}/release", alice), 409, "booking_not_active")
    r = await res.delete(f"/api/bookings/{future['id']}", alice)
    assert r.status_code == 204 and r.content == b""
    res.error(await res.get(f"/api/bookings/{future['id']}", alice), 404, "not_found")
    res.error(await res.delete(f"/api/bookings/{future['id']}", alice), 404, "not_found")

    # a booking in force: the owner cannot delete it but can release it
    now = (await res.book(alice, -30, H, qpu="sim")).json()
    res.error(await res.delete(f"/api/bookings/{now['id']}", alice), 400, "booking_started", "already started")
    res.error(await res.post(f"/api/bookings/{now['id']}/release", bob), 403, "forbidden")
    res.woken.clear()
    before = datetime.now(UTC)
    r = await res.post(f"/api/bookings/{now['id']}/release", alice)
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["end_time"] == released["released_at"]
    assert (
        before - timedelta(seconds=1) <= res.parse(released["released_at"]) <= datetime.now(UTC) + timedelta(seconds=1)
    )
    assert sim["id"] in res.woken  # the QPU is free: the dispatcher re-plans it
    res.error(await res.post(f"/api/bookings/{now['id']}/release", alice), 409, "booking_not_active")
    # the freed time can be booked by someone else at once
    taken = (await res.book(bob, 0, H, qpu="sim")).json()
    assert "id" in taken, taken
    # a superuser deletes a slot in force: it ends at once and the dispatcher re-plans the QPU
    res.woken.clear()
    assert (await res.delete(f"/api/bookings/{taken['id']}", admin)).status_code == 204
    assert res.woken == [sim["id"]]
    # an all-QPU slot in force: deleting it wakes every QPU
    held = (await res.book(admin, 0, 10 * H, booked_by=alice.id)).json()
    assert held["qpu"] is None, held
    res.woken.clear()
    assert (await res.delete(f"/api/bookings/{held['id']}", admin)).status_code == 204
    assert res.woken == ["*"]
    # a change wholly in the past does not wake the dispatcher
    old = (await res.book(admin, -5 * H, -4 * H, qpu="sim")).json()
    res.woken.clear()
    assert (await res.delete(f"/api/bookings/{old['id']}", admin)).status_code == 204
    assert res.woken == []


async def test_events(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    bob = await res.user()
    sim = await res.qpu(admin, "sim")
    res.woken.clear()
    booking = (await res.book(alice, H, 2 * H, qpu="sim", note="secret")).json()
    assert res.woken == [sim["id"]]
    await res.patch(f"/api/bookings/{booking['id']}", alice, {"note": "still secret"})
    await res.delete(f"/api/bookings/{booking['id']}", alice)
    events = await res.events(bob, "booking.*")
    assert [e["type"] for e in events] == ["booking.created", "booking.updated", "booking.deleted"]
    for event in events:
        data = event["data"]
        assert data["id"] == booking["id"] and data["qpu"] == {"id": sim["id"], "name": "sim"}
        assert "note" not in data and data["booked_by"]["email"] is None
        assert "secret" not in str(event)
    assert events[0]["data"]["start_time"] == booking["start_time"]


async def test_concurrent_overlapping_creates_one_wins(res: Any) -> None:
    admin = await res.user(role="superuser")
    users = [await res.user() for _ in range(4)]
    await res.qpu(admin, "sim")
    for round_ in range(5):
        start = datetime.now(UTC) + timedelta(hours=2 + 2 * round_)
        bodies = [
            {"start_time": res.ts(i * 60, base=start), "end_time": res.ts(H + i * 60, base=start), "qpu": "sim"}
            for i in range(len(users))
        ]
        answers = await asyncio.gather(*(res.post("/api/bookings", u, b) for u, b in zip(users, bodies, strict=True)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [201, 409, 409, 409], [r.text for r in answers]
    r = await res.get("/api/bookings", admin, qpu="sim")
    slots = sorted((res.parse(b["start_time"]), res.parse(b["end_time"])) for b in r.json())
    assert len(slots) == 5
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(slots))
