"""QPU time requests (api.md §2.9, scheduling.md §8 TR1, TR2, §7 ledger) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.anyio


async def ask(res: Any, who: Any, seconds: float = 30.0, **fields: Any) -> dict[str, Any]:
    r = await res.post("/api/time-requests", who, {"seconds": seconds, "requested_reason": "experiments", **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_create_is_pending_and_the_callers(res: Any) -> None:
    alice = await res.user(name="alice")
    bob = await res.user()
    r = await res.post(
        "/api/time-requests",
        alice,
        {"seconds": 12.5, "requested_reason": "thesis", "status": "approved", "user": bob.id},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["Location"] == f"/api/time-requests/{created['id']}"
    assert created["status"] == "pending" and created["seconds"] == 12.5
    assert created["user"] == {"id": alice.id, "email": alice.email, "name": "alice"}
    assert created["requested_reason"] == "thesis" and created["rejection_reason"] is None
    assert created["handled_by"] is None and created["handled_at"] is None and created["admin_note"] == ""
    assert created["created"].endswith("Z")
    assert await res.balance_ms(alice.id) == 100_000  # asking credits nothing
    # bounds and unknown fields
    for body, code in (
        ({"seconds": 0, "requested_reason": "x"}, "invalid_request"),
        ({"seconds": 2e9, "requested_reason": "x"}, "invalid_request"),
        ({"seconds": 1, "requested_reason": ""}, "invalid_request"),
        ({"seconds": 1, "requested_reason": "x" * 2001}, "invalid_request"),
        ({"requested_reason": "x"}, "invalid_request"),
        ({"seconds": 1, "requested_reason": "x", "priority": "high"}, "unknown_field"),
    ):
        res.error(await res.post("/api/time-requests", alice, body), 400, code)
    assert (await ask(res, alice, 0.001))["seconds"] == 0.001


async def test_pending_cap(res: Any) -> None:
    alice = await res.user()
    bob = await res.user()
    admin = await res.user(role="superuser")
    first = [await ask(res, alice, i + 1) for i in range(5)]
    r = await res.post("/api/time-requests", alice, {"seconds": 1, "requested_reason": "more"})
    res.error(r, 429, "too_many_requests")
    assert int(r.headers["Retry-After"]) >= 1
    await ask(res, bob)  # the cap is per user
    # a handled or withdrawn request frees a place
    assert (await res.post(f"/api/time-requests/{first[0]['id']}/reject", admin, {"reason": "no"})).status_code == 200
    await ask(res, alice)
    res.error(
        await res.post("/api/time-requests", alice, {"seconds": 1, "requested_reason": "x"}), 429, "too_many_requests"
    )
    assert (await res.delete(f"/api/time-requests/{first[1]['id']}", alice)).status_code == 204
    await ask(res, alice)


async def test_privacy_list_and_withdraw(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user()
    bob = await res.user()
    mine = await ask(res, alice, 10)
    theirs = await ask(res, bob, 20)
    path = f"/api/time-requests/{theirs['id']}"
    res.error(await res.get(path, alice), 404, "not_found")
    res.error(await res.delete(path, alice), 404, "not_found")
    res.error(await res.get("/api/time-requests/nosuchrequest00", alice), 404, "not_found")
    assert (await res.get(path, bob)).json() == theirs
    assert (await res.get(path, admin)).json() == theirs
    r = await res.get("/api/time-requests", alice)
    assert [t["id"] for t in r.json()] == [mine["id"]] and r.headers["X-Total-Count"] == "1"
    res.error(await res.get("/api/time-requests", alice, user=bob.id), 400, "invalid_request")
    r = await res.get("/api/time-requests", admin, sort="created")
    assert [t["id"] for t in r.json()] == [mine["id"], theirs["id"]]
    r = await res.get("/api/time-requests", admin)
    assert [t["id"] for t in r.json()] == [theirs["id"], mine["id"]]
    r = await res.get("/api/time-requests", admin, user=bob.id)
    assert [t["id"] for t in r.json()] == [theirs["id"]]
    res.error(await res.get("/api/time-requests", admin, status="done"), 400, "invalid_request")
    res.error(await res.get("/api/time-requests", admin, sort="seconds"), 400, "invalid_sort")
    # users never update a request, and only superusers decide
    res.error(await res.patch(path, bob, {"seconds": 1e6}), 405, "method_not_allowed")
    res.error(await res.post(f"{path}/approve", bob), 403, "forbidden")
    res.error(await res.post(f"{path}/reject", bob, {"reason": "x"}), 403, "forbidden")
    # the owner withdraws while pending
    assert (await res.delete(path, bob)).status_code == 204
    res.error(await res.get(path, bob), 404, "not_found")
    assert await res.count(res.t.time_requests) == 1


async def test_approve_and_reject(res: Any) -> None:
    admin = await res.user(role="superuser", name="root")
    alice = await res.user()
    bob = await res.user()
    request = await ask(res, alice, 12.345)
    path = f"/api/time-requests/{request['id']}"
    r = await res.post(f"{path}/approve", admin, {"note": "enjoy"})
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["admin_note"] == "enjoy"
    assert approved["handled_by"] == {"id": admin.id, "name": "root"} and approved["handled_at"].endswith("Z")
    assert await res.balance_ms(alice.id) == 100_000 + 12_345
    r = await res.get("/api/ledger", alice, kind="time_request")
    (entry,) = r.json()
    assert entry["amount"] == 12.345 and entry["time_request"] == request["id"] and entry["actor"] == admin.id
    assert entry["balance_after"] == 112.345
    # processed requests are immutable
    res.error(await res.post(f"{path}/approve", admin), 409, "request_processed")
    res.error(await res.post(f"{path}/reject", admin, {"reason": "changed my mind"}), 409, "request_processed")
    res.error(await res.delete(path, alice), 409, "request_processed")
    assert (await res.get(path, alice)).json()["status"] == "approved"
    res.error(await res.post("/api/time-requests/nosuchrequest00/approve", admin), 404, "not_found")

    # rejection needs a reason
    second = await ask(res, alice, 50)
    res.error(await res.post(f"/api/time-requests/{second['id']}/reject", admin), 400, "invalid_request")
    res.error(
        await res.post(f"/api/time-requests/{second['id']}/reject", admin, {"reason": ""}), 400, "invalid_request"
    )
    r = await res.post(f"/api/time-requests/{second['id']}/reject", admin, {"reason": "budget spent"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["rejection_reason"] == "budget spent"
    assert await res.balance_ms(alice.id) == 112_345
    await res.ledger_invariant()

    # TR2: the requester is notified of both decisions; nobody else is
    notes = (await res.get("/api/notifications", alice)).json()
    assert [(n["severity"], n["broadcast"]) for n in notes] == [("warning", False), ("info", False)]
    assert "budget spent" in notes[0]["description"] and "50" in notes[0]["description"]
    assert "12.345" in notes[1]["description"] and "enjoy" in notes[1]["description"]
    assert (await res.get("/api/notifications", bob)).json() == []
    # events: the requester sees its own, another user none of them
    kinds = [e["type"] for e in await res.events(alice, "time_request.*")]
    assert kinds == ["time_request.created", "time_request.approved", "time_request.created", "time_request.rejected"]
    credits = [e["data"] for e in await res.events(alice, "ledger.entry") if e["data"]["kind"] == "time_request"]
    assert [(c["amount"], c["time_request"]) for c in credits] == [(12.345, request["id"])]
    assert await res.events(bob, "time_request.*") == []
    assert len(await res.events(admin, "time_request.*")) == 4


async def test_fifty_parallel_approvals_credit_once(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice = await res.user(seconds=0)
    request = await ask(res, alice, 7.5)
    res.woken.clear()
    path = f"/api/time-requests/{request['id']}/approve"
    answers = await asyncio.gather(*(res.post(path, admin) for _ in range(50)))
    codes = [r.status_code for r in answers]
    assert codes.count(200) == 1 and codes.count(409) == 49, codes
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"request_processed"}
    assert await res.balance_ms(alice.id) == 7_500
    assert await res.count(res.t.ledger, "time_request_id = {}", request["id"]) == 1
    assert await res.count(res.t.notifications) == 1
    await res.ledger_invariant()
    assert res.woken == ["*"]  # the balance went from 0 to > 0: the user's pending jobs became payable
    # an approval that leaves a positive balance positive does not wake the dispatcher
    more = await ask(res, alice, 1)
    res.woken.clear()
    assert (await res.post(f"/api/time-requests/{more['id']}/approve", admin)).status_code == 200
    assert res.woken == []
