"""Read-your-writes through the API while other requests read concurrently: a token, user or job
the server has just answered 201 for is there on the very next request."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio


async def test_writes_are_visible_at_once_under_concurrent_reads(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    await kit.qpu(admin, "sim")
    stop = anyio.Event()

    async def reader() -> None:
        while not stop.is_set():
            assert (await kit.client.get("/api/qpus")).status_code == 200
            assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(reader)
        try:
            for i in range(15):
                r = await kit.client.post("/api/tokens", json={"name": f"t{i}"}, headers=admin.headers)
                assert r.status_code == 201, r.text
                me = await kit.client.get("/api/auth/me", headers={"X-API-Token": r.json()["token"]})
                assert me.status_code == 200, me.text
                await kit.user()  # the store reads the new row back after its commit
                job = await kit.job(alice)
                r = await kit.client.get(f"/api/jobs/{job['id']}", headers=alice.headers)
                assert r.status_code == 200, r.text
        finally:
            stop.set()
