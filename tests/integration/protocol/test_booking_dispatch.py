"""Bookings seen by the dispatcher on a real server and link: holder first, fallback after idleness.

Loose liveness bounds only (seconds); exact instants are unit tests of the pure policy.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from qpi.protocol.messages import JobDispatch, JobResult, ResultAck

from .test_event_stream import user_token
from .test_fencing import result_body

pytestmark = pytest.mark.anyio


def ts(delta_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).isoformat().replace("+00:00", "Z")


async def book(served, holder_token: str, *, start: float, end: float, qpu: str | None = "sim") -> dict:
    """A booking for the holder; the admin creates it (superusers may book in the past)."""
    async with served.http(holder_token) as c:
        me = (await c.get("/api/auth/me")).json()
    async with served.http() as c:
        body = {"start_time": ts(start), "end_time": ts(end), "qpu": qpu, "booked_by": me["id"]}
        r = await c.post("/api/bookings", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


async def one_at_a_time(served) -> None:
    async with served.http() as c:
        r = await c.patch("/api/qpus/sim", json={"max_concurrent": 1})
        assert r.status_code == 200, r.text


async def finish(driver, dispatch: JobDispatch) -> None:
    await driver.send(JobResult(payload=result_body(dispatch.payload.job_id, dispatch.payload.attempt)))
    await driver.expect(ResultAck)


@pytest.mark.serve_options(idle_threshold="1s")
async def test_the_holder_goes_first_even_when_others_queued_earlier(served, proto) -> None:
    driver, _qpu = proto
    alice = await user_token(served, "alice@example.org")
    bob = await user_token(served, "bob@example.org")
    await one_at_a_time(served)
    await book(served, alice, start=-60, end=3600)
    b1 = await served.submit("sim", token=bob)
    a1 = await served.submit("sim", token=alice)
    job_b = await served.job(b1["id"])
    assert job_b["queue"]["reason"] in ("qpu_booked", "no_driver_online")
    await driver.connect()
    first = await driver.expect(JobDispatch)
    assert first.payload.job_id == a1["id"]  # the holder's job, though bob's is older
    assert driver.inbox.empty()
    await finish(driver, first)
    # alice is idle from now: bob's job runs after the idle threshold (1 s), not at once
    early = await served.job(b1["id"])
    assert early["state"] == "pending" and early["queue"]["reason"] == "qpu_booked"
    second = await driver.expect(JobDispatch, timeout=10)
    assert second.payload.job_id == b1["id"]


@pytest.mark.serve_options(idle_threshold="2s")
async def test_others_wait_for_an_idle_holder_then_run(served, proto) -> None:
    driver, _qpu = proto
    alice = await user_token(served, "carol@example.org")
    bob = await user_token(served, "dave@example.org")
    await one_at_a_time(served)
    await driver.connect()
    await book(served, alice, start=0, end=3600)
    submitted = asyncio.get_running_loop().time()
    b1 = await served.submit("sim", token=bob)
    assert b1["queue"]["reason"] == "qpu_booked"
    assert b1["queue"]["detail"]["fallback_at"] is not None
    dispatch = await driver.expect(JobDispatch, timeout=15)
    waited = asyncio.get_running_loop().time() - submitted
    assert dispatch.payload.job_id == b1["id"]
    assert waited >= 1.0  # not before the holder has been idle (2 s from the slot start; loose bound)


async def test_ledger_sums_to_every_balance_after_a_randomized_run(served, proto) -> None:
    driver, _qpu = proto
    rng = random.Random(1234)
    tokens = [await user_token(served, f"user{i}@example.org", seconds=rng.choice([0.5, 5, 50])) for i in range(4)]
    await driver.connect()
    pending: set[str] = set()
    for step in range(40):
        action = rng.random()
        token = rng.choice(tokens)
        if action < 0.5:
            async with served.http(token) as c:
                r = await c.post(
                    "/api/jobs",
                    json={
                        "circuits": [
                            {"circuit": 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; measure q -> c;'}
                        ],
                        "qpu_target": "sim",
                    },
                )
                assert r.status_code in (201, 403), r.text  # 403: the balance ran out
                if r.status_code == 201:
                    pending.add(r.json()["id"])
        elif action < 0.7:
            async with served.http(token) as c:
                me = (await c.get("/api/auth/me")).json()
            async with served.http() as c:
                op = rng.choice(["grant", "set"])
                r = await c.post(
                    f"/api/admin/users/{me['id']}/balance",
                    json={"op": op, "seconds": rng.choice([0, 1, 2.5, 10]) if op == "set" else 3},
                )
                assert r.status_code in (200, 400), r.text
        else:
            try:
                dispatch = await driver.expect(JobDispatch, timeout=0.5)
            except TimeoutError:
                continue
            await driver.send(
                JobResult(
                    payload=result_body(dispatch.payload.job_id, dispatch.payload.attempt, billable=rng.random() * 2)
                )
            )
            await driver.expect(ResultAck)
        _ = step
    sums = await served.ctx.store.ledger.sums()
    balances = await served.ctx.store.ledger.balances()
    for user_id, balance in balances.items():
        assert sums.get(user_id, 0) == balance, user_id  # A1b after every kind of change
