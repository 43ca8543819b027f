from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'


async def test_submit_and_read_back(app) -> None:
    admin = await app.user(role="superuser")
    alice = await app.user()
    await app.qpu(admin, "sim")
    r = await app.client.post(
        "/api/jobs", json={"circuits": [{"circuit": BELL}], "qpu_target": "sim"}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["state"] == "pending" and job["queue"]["reason"] == "no_driver_online"
    r = await app.client.get(f"/api/jobs/{job['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["id"] == job["id"]
