"""QPUs (api.md §2.4): registration, toggle, reads, edits, deletion."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

LIST_FIELDS = {
    "id",
    "name",
    "description",
    "status",
    "enabled",
    "num_qubits",
    "executor",
    "drivers_online",
    "queue",
    "current_booking",
    "last_seen",
    "created",
    "updated",
}
DETAIL_FIELDS = LIST_FIELDS | {"device_info", "limits", "on_driver_loss", "bookable"}


async def test_create(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    r = await kit.client.post("/api/op/qpus/create", json={"name": "sim", "num_qubits": 5}, headers=h)
    assert r.status_code == 201, r.text
    qpu = r.json()
    assert set(qpu) >= DETAIL_FIELDS and r.headers["Location"] == "/api/qpus/sim"
    assert qpu["access_token"].startswith("qpi_") and len(qpu["access_token"]) == 68
    fingerprint = (await kit.client.get("/api/pub/root-ca.pem")).headers["X-CA-Fingerprint"]
    assert qpu["ca_fingerprint"] == fingerprint
    assert qpu["status"] == "offline" and qpu["enabled"] is True and qpu["executor"] == "mock"
    assert qpu["limits"] == {
        "max_shots": 100_000,
        "max_circuits": 300,
        "job_timeout_s": None,
        "max_attempts": None,
        "max_concurrent": None,
    }
    assert qpu["queue"] == {"pending": 0, "running": 0} and qpu["drivers_online"] == 0
    drivers = await kit.rows(f"SELECT id, name, kind, token_prefix FROM {kit.t.drivers} WHERE qpu_id = {{}}", qpu["id"])
    assert drivers == [
        {"id": qpu["driver_id"], "name": "sim-driver", "kind": "mock", "token_prefix": qpu["access_token"][:12]}
    ]
    # without a driver; upstream's legacy fields are accepted and ignored
    r = await kit.client.post(
        "/api/op/qpus/create",
        json={
            "name": "chip.A_1",
            "with_driver": False,
            "device_config": {"x": 1},
            "id": "ignored",
            "access_token": "nope",
            "max_shots": 10,
            "max_circuits": 2,
            "job_timeout": 12.5,
            "max_attempts": 3,
            "on_driver_loss": "fail",
            "description": "a chip",
            "enabled": False,
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    chip = r.json()
    assert chip["id"] != "ignored" and chip["driver_id"] is None and chip["access_token"] is None
    assert chip["executor"] is None and chip["status"] == "maintenance" and chip["num_qubits"] is None
    assert chip["limits"] == {
        "max_shots": 10,
        "max_circuits": 2,
        "job_timeout_s": 12.5,
        "max_attempts": 3,
        "max_concurrent": None,
    }
    assert chip["on_driver_loss"] == "fail" and chip["description"] == "a chip"
    r = await kit.client.post("/api/op/qpus/create", json={"name": "aer", "executor_type": "qiskit_aer"}, headers=h)
    assert r.status_code == 201 and r.json()["executor"] == "qiskit_aer"
    before = await kit.counts()
    for body, status, code, field in (
        ({"name": "SIM"}, 201, None, None),  # names are case-sensitive
        ({"name": "sim"}, 409, "name_taken", None),
        ({"name": "-dash"}, 400, "invalid_request", "name"),
        ({"name": "has space"}, 400, "invalid_request", "name"),
        ({"name": ""}, 400, "invalid_request", "name"),
        ({"name": "x" * 65}, 400, "invalid_request", "name"),
        ({"name": "n1", "num_qubits": 0}, 400, "invalid_request", "num_qubits"),
        ({"name": "n1", "max_shots": 10_000_001}, 400, "invalid_request", "max_shots"),
        ({"name": "n1", "max_attempts": 11}, 400, "invalid_request", "max_attempts"),
        ({"name": "n1", "job_timeout": 0}, 400, "invalid_request", "job_timeout"),
        ({"name": "n1", "on_driver_loss": "retry"}, 400, "invalid_request", "on_driver_loss"),
        ({"name": "n1", "executor_type": "cirq"}, 400, "unknown_kind", "executor_type"),
        ({"name": "n1", "colour": "blue"}, 400, "unknown_field", "colour"),
    ):
        r = await kit.client.post("/api/op/qpus/create", json=body, headers=h)
        if status == 201:
            assert r.status_code == 201, r.text
            before = await kit.counts()
            continue
        kit.error(r, status, code, field)
    assert await kit.counts() == before


async def test_toggle_and_read(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    sim = await kit.qpu(admin, "sim")
    other = await kit.qpu(admin, "other")
    r = await kit.client.post("/api/op/qpu/toggle", json={"name": "sim", "enabled": False}, headers=h)
    assert r.status_code == 200 and r.json() == {
        "id": sim["id"],
        "name": "sim",
        "enabled": False,
        "status": "maintenance",
    }
    r = await kit.client.post("/api/op/qpu/toggle", json={"id": other["id"], "enabled": False}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "maintenance"
    r = await kit.client.post("/api/op/qpu/toggle", json={"id": other["id"], "enabled": True}, headers=h)
    assert r.json()["status"] == "offline"
    kit.error(await kit.client.post("/api/op/qpu/toggle", json={"enabled": True}, headers=h), 400, "invalid_request")
    kit.error(
        await kit.client.post("/api/op/qpu/toggle", json={"name": "sim"}, headers=h), 400, "invalid_request", "enabled"
    )
    kit.error(
        await kit.client.post("/api/op/qpu/toggle", json={"name": "none", "enabled": True}, headers=h), 404, "not_found"
    )
    # reads: public, by name or id
    for ref in ("sim", sim["id"]):
        r = await kit.client.get(f"/api/qpus/{ref}")
        assert r.status_code == 200 and r.json()["id"] == sim["id"] and set(r.json()) == DETAIL_FIELDS
        assert r.json()["enabled"] is False and r.json()["current_booking"] is None
    kit.error(await kit.client.get("/api/qpus/nothing"), 404, "not_found")
    r = await kit.client.get("/api/qpus")
    assert r.status_code == 200 and [q["name"] for q in r.json()] == ["other", "sim"]
    assert all(set(q) == LIST_FIELDS for q in r.json())

    async def names(query: str) -> list[str]:
        r = await kit.client.get(f"/api/qpus{query}")
        assert r.status_code == 200, r.text
        return [q["name"] for q in r.json()]

    assert await names("?status=maintenance") == ["sim"]
    assert await names("?status=offline,maintenance&sort=-name") == ["sim", "other"]
    assert await names("?enabled=true") == ["other"]
    assert await names("?skip=1&limit=1") == ["sim"]
    assert await names("?limit=0") == ["other", "sim"]  # 0 = the default page size
    r = await kit.client.get("/api/qpus?skip=1&limit=1")
    assert r.headers["X-Total-Count"] == "2"
    for query in (
        "?page=1&skip=1",
        "?per_page=5&limit=5",
        "?status=broken",
        "?enabled=perhaps",
        "?sort=status",
        "?limit=501",
        "?skip=-1",
        "?owner=me",
    ):
        assert (await kit.client.get(f"/api/qpus{query}")).status_code == 400, query


async def test_update(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    await kit.qpu(admin, "sim", job_timeout=30, max_attempts=2)
    await kit.qpu(admin, "taken")
    r = await kit.client.patch(
        "/api/qpus/sim",
        json={
            "job_timeout": None,
            "max_attempts": None,
            "bookable": False,
            "max_concurrent": 2,
            "description": "edited",
            "max_shots": 50,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["limits"]["job_timeout_s"] is None and detail["limits"]["max_attempts"] is None
    assert detail["limits"]["max_concurrent"] == 2 and detail["limits"]["max_shots"] == 50
    assert detail["bookable"] is False and detail["description"] == "edited"
    row = await kit.store.qpus.get("sim")
    assert row.job_timeout_ms is None and row.max_attempts is None and row.max_shots == 50
    # limits apply to later submissions
    alice = await kit.user()
    r = await kit.submit(alice, shots=51)
    kit.error(r, 400, "shots_out_of_range", "shots")
    r = await kit.client.patch("/api/qpus/sim", json={"name": "renamed"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "renamed"
    kit.error(await kit.client.get("/api/qpus/sim"), 404, "not_found")
    before = await kit.counts()
    for body, status, code, field in (
        ({"name": "taken"}, 409, "name_taken", None),
        ({"name": "bad name"}, 400, "invalid_request", "name"),
        ({"max_concurrent": 0}, 400, "invalid_request", "max_concurrent"),
        ({"job_timeout": -1}, 400, "invalid_request", "job_timeout"),
        ({"status": "online"}, 400, "unknown_field", "status"),
    ):
        kit.error(await kit.client.patch("/api/qpus/renamed", json=body, headers=h), status, code, field)
    kit.error(await kit.client.patch("/api/qpus/nothing", json={"description": "x"}, headers=h), 404, "not_found")
    assert await kit.counts() == before


async def test_delete(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    alice = await kit.user()
    qpu = await kit.qpu(admin, "sim", with_driver=True)
    pending = await kit.job(alice)
    running = await kit.job(alice)
    await kit.set_job(running["id"], state="running", attempt=1, started_at=kit.ctx.clock.now_us())
    done = await kit.job(alice)
    await kit.set_job(done["id"], state="completed", finished_at=kit.ctx.clock.now_us())
    r = await kit.client.delete("/api/qpus/sim", headers=h)
    body = kit.error(r, 409, "qpu_in_use")
    assert "force" in body["detail"]
    assert await kit.store.qpus.get("sim") is not None
    kit.error(await kit.client.delete("/api/qpus/sim?force=perhaps", headers=h), 400, "invalid_request")
    r = await kit.client.delete("/api/qpus/sim?force=true", headers=h)
    assert r.status_code == 204, r.text
    kit.error(await kit.client.get("/api/qpus/sim"), 404, "not_found")
    assert await kit.count(kit.t.drivers, "qpu_id = {}", qpu["id"]) == 0
    job = (await kit.client.get(f"/api/jobs/{pending['id']}", headers=alice.headers)).json()
    assert job["status"] == "cancelled" and job["cancelled_by"] == "system"
    assert job["error"]["code"] == "qpu_deleted" and job["failure_reason"] is None
    assert job["qpu"] == {"id": None, "name": "sim"} and job["cancel_sent_at"] is None
    job = (await kit.client.get(f"/api/jobs/{running['id']}", headers=alice.headers)).json()
    assert job["status"] == "cancelled" and job["cancelled_by"] == "system" and job["cancel_sent_at"] is not None
    assert job["error"]["code"] == "qpu_deleted"
    job = (await kit.client.get(f"/api/jobs/{done['id']}", headers=alice.headers)).json()
    assert job["status"] == "completed" and job["qpu"] == {"id": None, "name": "sim"} and job["error"] is None
    kit.error(await kit.client.delete("/api/qpus/sim", headers=h), 404, "not_found")
    # a QPU without jobs is deleted without force, by id too
    other = await kit.qpu(admin, "other")
    assert (await kit.client.delete(f"/api/qpus/{other['id']}", headers=h)).status_code == 204
    assert await kit.count(kit.t.qpus) == 0
