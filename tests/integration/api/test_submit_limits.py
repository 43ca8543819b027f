"""Checks 2 to 5 of a submission (api.md §3.3) and the generic body rules: size (§1.9), media type,
rate limits and the pending-job cap (§1.8), ``Idempotency-Key`` (§1.7)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'
JOB = {"circuits": [{"circuit": BELL}], "qpu_target": "sim"}


async def _people(kit: Any) -> tuple[Any, Any]:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    await kit.qpu(admin, "sim")
    return admin, alice


async def test_body_size_limit(make_sqlite_kit: Any) -> None:
    async with make_sqlite_kit(max_body_size="1KiB") as kit:
        _, alice = await _people(kit)
        before = await kit.counts()
        big = {"circuits": [{"circuit": BELL + " " * 2000}], "qpu_target": "sim"}
        body = kit.error(await kit.submit(alice, big), 413, "payload_too_large")
        assert "1024" in body["detail"], body

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"circuits": [{"circuit": "'
            for _ in range(10):
                yield b" " * 200
            yield b'"}]}'

        r = await kit.client.post(
            "/api/jobs", content=chunks(), headers={**alice.headers, "content-type": "application/json"}
        )
        kit.error(r, 413, "payload_too_large")
        # other routes too
        r = await kit.client.post("/api/tokens", json={"name": "x" * 2000}, headers=alice.headers)
        kit.error(r, 413, "payload_too_large")
        assert await kit.counts() == before
        # a body under the limit is fine
        assert (await kit.submit(alice, JOB)).status_code == 201


async def test_media_type_and_malformed_json(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    _, alice = await _people(kit)
    before = await kit.counts()
    text = {**alice.headers, "content-type": "text/plain"}
    r = await kit.client.post("/api/jobs", content=b'{"circuits": []}', headers=text)
    kit.error(r, 415, "unsupported_media_type")
    r = await kit.client.post("/api/tokens", content=b'{"name": "x"}', headers=text)
    kit.error(r, 415, "unsupported_media_type")
    json_headers = {**alice.headers, "content-type": "application/json"}
    for raw in (b"{not json", b'{"circuits": [', b"\xff\xfe", b"[]", b'"text"'):
        r = await kit.client.post("/api/jobs", content=raw, headers=json_headers)
        kit.error(r, 400, "invalid_request")
    r = await kit.client.post("/api/tokens", content=b"{oops", headers=json_headers)
    kit.error(r, 400, "invalid_request")
    assert await kit.counts() == before
    # application/json with a charset parameter is JSON
    r = await kit.client.post(
        "/api/jobs",
        content=json.dumps(JOB).encode(),
        headers={**alice.headers, "content-type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


async def test_pending_job_cap(make_kit: Any) -> None:
    async with make_kit(max_pending_jobs_per_user="2") as kit:
        admin, alice = await _people(kit)
        first = await kit.job(alice)
        await kit.job(alice)
        before = await kit.counts()
        r = await kit.submit(alice, JOB)
        kit.error(r, 429, "too_many_pending_jobs")
        assert int(r.headers["Retry-After"]) >= 1
        assert await kit.counts() == before
        # the cap is per user
        assert (await kit.submit(admin, JOB)).status_code == 201
        # a cancelled job frees a place
        r = await kit.client.post(f"/api/jobs/{first['id']}/cancel", headers=alice.headers)
        assert r.status_code == 200
        assert (await kit.submit(alice, JOB)).status_code == 201


async def test_submit_rate_limit(make_sqlite_kit: Any, clock: Any) -> None:
    async with make_sqlite_kit(submit_rate_limit="1", clock=clock) as kit:
        admin, alice = await _people(kit)
        assert (await kit.submit(alice, JOB)).status_code == 201
        assert (await kit.submit(alice, JOB)).status_code == 201  # burst 2
        before = await kit.counts()
        r = await kit.submit(alice, JOB)
        body = kit.error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1, r.headers
        assert "1" in body["detail"]
        assert await kit.counts() == before
        # other routes and other users are not affected
        assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200
        assert (await kit.submit(admin, JOB)).status_code == 201
        clock.advance(1.0)
        assert (await kit.submit(alice, JOB)).status_code == 201


async def test_api_rate_limit(make_sqlite_kit: Any, clock: Any) -> None:
    async with make_sqlite_kit(rate_limit="5", clock=clock) as kit:
        _, alice = await _people(kit)
        codes = [(await kit.client.get("/api/jobs", headers=alice.headers)).status_code for _ in range(11)]
        assert codes[:10] == [200] * 10  # burst = 2 × rate
        r = await kit.client.get("/api/jobs", headers=alice.headers)
        kit.error(r, 429, "rate_limited")
        assert int(r.headers["Retry-After"]) >= 1
        # exempt routes, and anonymous callers have their own bucket (by IP)
        assert (await kit.client.get("/api/health")).status_code == 200
        assert (await kit.client.get("/api/ready")).status_code == 200
        assert (await kit.client.get("/api/qpus")).status_code == 200
        clock.advance(1.0)
        assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200


async def test_idempotent_submission(kit: Any) -> None:
    _, alice = await _people(kit)
    bob = await kit.user()
    key = {"Idempotency-Key": "submit-0001"}
    first = await kit.client.post("/api/jobs", json=JOB, headers={**alice.headers, **key})
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await kit.client.post("/api/jobs", json=JOB, headers={**alice.headers, **key})
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert await kit.count(kit.t.jobs) == 1
    # same key, another body → 422, nothing stored
    other = {**JOB, "shots": 10}
    r = await kit.client.post("/api/jobs", json=other, headers={**alice.headers, **key})
    kit.error(r, 422, "idempotency_key_reused")
    assert await kit.count(kit.t.jobs) == 1
    # keys are per user
    r = await kit.client.post("/api/jobs", json=JOB, headers={**bob.headers, **key})
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]
    assert await kit.count(kit.t.jobs) == 2
    # invalid keys
    for bad in (b"", b"has space", b"x" * 256, b"caf\xe9", b"tab\there"):
        headers: dict[str, Any] = {**alice.headers, "Idempotency-Key": bad}
        r = await kit.client.post("/api/jobs", json=JOB, headers=headers)
        kit.error(r, 400, "invalid_idempotency_key")
    assert await kit.count(kit.t.jobs) == 2
    # a client error is a final answer too: replayed, not re-evaluated
    bad_key = {**alice.headers, "Idempotency-Key": "bad-body"}
    r1 = await kit.client.post("/api/jobs", json={"circuits": [], "qpu_target": "sim"}, headers=bad_key)
    r2 = await kit.client.post("/api/jobs", json={"circuits": [], "qpu_target": "sim"}, headers=bad_key)
    assert r1.status_code == r2.status_code == 400 and r1.content == r2.content
    assert r2.headers["Idempotent-Replayed"] == "true"
    # cancel honours the header too
    job_id = first.json()["id"]
    c_key = {**alice.headers, "Idempotency-Key": "cancel-1"}
    c1 = await kit.client.post(f"/api/jobs/{job_id}/cancel", headers=c_key)
    c2 = await kit.client.post(f"/api/jobs/{job_id}/cancel", headers=c_key)
    assert c1.status_code == c2.status_code == 200 and c1.content == c2.content
    assert c2.headers["Idempotent-Replayed"] == "true"


async def test_idempotency_key_before_balance(kit: Any) -> None:
    """Check 4 before 5: the balance refusal is stored under the key and replayed."""
    admin = await kit.user(role="superuser")
    broke = await kit.user(seconds=0)
    await kit.qpu(admin, "sim")
    headers = {**broke.headers, "Idempotency-Key": "k1"}
    r1 = await kit.client.post("/api/jobs", json=JOB, headers=headers)
    kit.error(r1, 403, "insufficient_balance")
    r2 = await kit.client.post("/api/jobs", json=JOB, headers=headers)
    assert r2.content == r1.content and r2.headers["Idempotent-Replayed"] == "true"
    r3 = await kit.client.post("/api/jobs", json={**JOB, "shots": 5}, headers=headers)
    kit.error(r3, 422, "idempotency_key_reused")
    assert await kit.count(kit.t.jobs) == 0


async def test_idempotency_key_in_progress(kit: Any) -> None:
    """A key claimed by a request that has not answered yet: 409, and nothing is stored."""
    _, alice = await _people(kit)
    raw = json.dumps(JOB).encode()
    # the claim a first request holds while it runs (fingerprint: method, path and body)
    fingerprint = hashlib.sha256(b"POST /api/jobs\n" + raw).hexdigest()
    claimed = await kit.store.idempotency.begin(
        user_id=alice.id, key="busy", fingerprint=fingerprint, now=kit.ctx.clock.now_us()
    )
    assert claimed is None
    headers = {**alice.headers, "Idempotency-Key": "busy", "content-type": "application/json"}
    r = await kit.client.post("/api/jobs", content=raw, headers=headers)
    kit.error(r, 409, "idempotency_in_progress")
    r = await kit.client.post("/api/jobs", content=raw + b" ", headers=headers)
    kit.error(r, 422, "idempotency_key_reused")
    assert await kit.count(kit.t.jobs) == 0


async def test_body_size_answers_before_rate_limits(make_sqlite_kit: Any, clock: Any) -> None:
    """Check 2 (size) before check 3 (rate): an oversized body is 413 even when over the rate."""
    async with make_sqlite_kit(clock=clock, rate_limit="1", submit_rate_limit="1", max_body_size="1KiB") as kit:
        _, alice = await _people(kit)  # the QPU registration spent the admin's own bucket, not alice's
        for _ in range(2):
            assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200
        kit.error(await kit.client.get("/api/jobs", headers=alice.headers), 429, "rate_limited")
        big = {"circuits": [{"circuit": BELL + " " * 2000}], "qpu_target": "sim"}
        kit.error(await kit.submit(alice, big), 413, "payload_too_large")
        kit.error(await kit.submit(alice, JOB), 429, "rate_limited")
        assert await kit.count(kit.t.jobs) == 0
