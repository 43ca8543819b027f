"""Jobs (api.md §2.6, §3): the submitted record, lists and their filters, results, cancel."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.anyio

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'
NO_VERSION = 'include "stdgates.inc"; qubit[1] q; bit[1] c; x q[0]; c[0] = measure q[0];'
DAY_US = 86_400 * 1_000_000


async def test_submitted_record(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    qpu = await kit.qpu(admin, "sim")
    body = {
        "circuits": [{"circuit": BELL, "name": "bell"}, {"circuit": NO_VERSION, "shots": 7}],
        "shots": 100,
        "name": "first run",
        "tags": ["exp:1", "b", "exp:1"],
        "qpu_target": "sim",
        "memory": True,
    }
    r = await kit.client.post("/api/jobs", json=body, headers=alice.headers)
    assert r.status_code == 201, r.text
    job = r.json()
    assert r.headers["Location"] == f"/api/jobs/{job['id']}"
    assert job["status"] == job["state"] == "pending" and job["results"] is None and job["qpu_auto"] is False
    assert job["qpu"] == {"id": qpu["id"], "name": "sim"} and job["owner"] == alice.id and job["name"] == "first run"
    assert sorted(job["tags"]) == ["b", "exp:1"] and job["attempt"] == 0 and job["qpu_seconds"] == 0
    assert job["queue"]["reason"] == "no_driver_online" and job["created"] == job["submitted_at"]
    assert len(job["id"]) == 15 and job["id"].isalnum() and job["id"].lower() == job["id"]
    payload = job["payload"]
    assert payload["qpu_target"] == qpu["id"] and payload["shots"] == 100 and payload["memory"] is True
    assert payload["meas_level"] == 2 and payload["meas_return"] == "single"
    c0, c1 = payload["circuits"]
    assert (c0["name"], c0["shots"]) == ("bell", 100) and (c1["name"], c1["shots"]) == ("circuit-1", 7)
    assert c1["circuit"].startswith("OPENQASM 3.0;")
    r = await kit.client.get(f"/api/jobs/{job['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["payload"] == payload and r.json()["results"] is None
    kit.error(await kit.client.get("/api/jobs/nosuchjob000000", headers=alice.headers), 404, "not_found")


async def test_list_pagination_and_filters(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    bob = await kit.user()
    sim = await kit.qpu(admin, "sim")
    await kit.qpu(admin, "other")
    now = kit.ctx.clock.now_us()
    specs = [  # (name, qpu, tags, state, days ago)
        ("alpha", "sim", ["x", "y"], "pending", 5),
        ("beta", "sim", ["x"], "dispatched", 4),
        ("gamma", "other", ["y"], "running", 3),
        ("delta", "sim", [], "completed", 2),
        ("epsilon", "other", ["x", "y", "z"], "failed", 1),
    ]
    ids = {}
    for name, qpu, tags, state, days in specs:
        job = await kit.job(alice, name=name, qpu_target=qpu, tags=tags)
        ids[name] = job["id"]
        await kit.set_job(job["id"], state=state, created=now - days * DAY_US)
    await kit.job(bob, name="bobs")

    async def names(query: str, who: Any = alice) -> list[str]:
        r = await kit.client.get(f"/api/jobs{query}", headers=who.headers)
        assert r.status_code == 200, (query, r.text)
        return [j["name"] for j in r.json()]

    assert await names("") == ["epsilon", "delta", "gamma", "beta", "alpha"]  # -created, own jobs only
    assert await names("?sort=created") == ["alpha", "beta", "gamma", "delta", "epsilon"]
    assert await names("?status=running") == ["gamma", "beta"]  # dispatched shows as running
    assert await names("?state=running") == ["gamma"]
    assert await names("?status=pending,completed") == ["delta", "alpha"]
    assert await names("?status=failed&status=pending") == ["epsilon", "alpha"]
    assert await names("?qpu=other") == ["epsilon", "gamma"]
    assert await names(f"?qpu={sim['id']}&state=pending") == ["alpha"]
    assert await names("?qpu=nowhere") == []
    assert await names("?tag=x") == ["epsilon", "beta", "alpha"]
    assert await names("?tag=x&tag=y") == ["epsilon", "alpha"]  # all must match
    assert await names("?tag=x,y,z") == ["epsilon"]
    # substring of the name (or of the id: a random id may contain "ta" too)
    newest_first = ["epsilon", "delta", "gamma", "beta", "alpha"]
    assert await names("?q=ta") == [n for n in newest_first if "ta" in n or "ta" in ids[n]]
    assert {"delta", "beta"} <= set(await names("?q=ta"))
    assert await names(f"?q={ids['gamma'][3:9]}") == ["gamma"]  # or of the id
    after = (await kit.client.get(f"/api/jobs/{ids['gamma']}", headers=alice.headers)).json()["created"]
    assert await names(f"?created_after={after}") == ["epsilon", "delta"]
    assert await names(f"?created_before={after}&created_after=2000-01-01T00:00:00%2B01:00") == ["beta", "alpha"]
    # pagination headers
    r = await kit.client.get("/api/jobs?per_page=2&page=2&tag=x", headers=alice.headers)
    assert [j["name"] for j in r.json()] == ["alpha"]
    assert (r.headers["X-Total-Count"], r.headers["X-Page"], r.headers["X-Per-Page"], r.headers["X-Total-Pages"]) == (
        "3",
        "2",
        "2",
        "2",
    )
    links = {
        part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<") for part in r.headers["Link"].split(", ")
    }
    assert set(links) == {"first", "prev", "last"}
    prev = parse_qs(urlsplit(links["prev"]).query)
    assert prev["page"] == ["1"] and prev["per_page"] == ["2"] and prev["tag"] == ["x"]
    # the links keep every filter, repeated ones included
    r = await kit.client.get("/api/jobs?per_page=1&tag=x&tag=y", headers=alice.headers)
    assert [j["name"] for j in r.json()] == ["epsilon"]
    links = {
        part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<") for part in r.headers["Link"].split(", ")
    }
    r = await kit.client.get(links["next"], headers=alice.headers)
    assert [j["name"] for j in r.json()] == ["alpha"] and r.headers["X-Total-Count"] == "2"
    r = await kit.client.get("/api/jobs?skip=1&limit=2", headers=alice.headers)
    assert [j["name"] for j in r.json()] == ["delta", "gamma"] and r.headers["X-Total-Count"] == "5"
    # full=false (the default) omits payload and results
    r = await kit.client.get("/api/jobs", headers=alice.headers)
    assert all("payload" not in j and "results" not in j for j in r.json())
    r = await kit.client.get("/api/jobs?full=true", headers=alice.headers)
    assert all("payload" in j and "results" in j for j in r.json())
    # other owners: superusers only
    kit.error(await kit.client.get("/api/jobs?owner=*", headers=alice.headers), 400, "invalid_request", "owner")
    kit.error(await kit.client.get(f"/api/jobs?owner={bob.id}", headers=alice.headers), 400, "invalid_request")
    assert await names("?owner=*", admin) == ["bobs", "epsilon", "delta", "gamma", "beta", "alpha"]
    assert await names(f"?owner={bob.id}", admin) == ["bobs"]
    assert await names("", admin) == []  # a superuser's own list is their own jobs
    for query in (
        "?status=queued",
        "?state=paused",
        "?sort=name",
        "?created_after=yesterday",
        "?created_after=2026-01-01T00:00:00",
        "?full=maybe",
        "?page=0",
        "?per_page=501",
        "?page=1&skip=0",
        "?colour=red",
    ):
        r = await kit.client.get(f"/api/jobs{query}", headers=alice.headers)
        assert r.status_code == 400 and r.json()["error"] in {"invalid_request", "invalid_sort"}, (query, r.text)


async def test_results_and_cancel(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    bob = await kit.user()
    await kit.qpu(admin, "sim")
    pending = await kit.job(alice)
    url = f"/api/jobs/{pending['id']}"
    kit.error(await kit.client.get(f"{url}/result", headers=alice.headers), 409, "job_not_finished")
    kit.error(await kit.client.post(f"{url}/cancel", headers=bob.headers), 404, "not_found")
    r = await kit.client.post(f"{url}/cancel", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {"id": pending["id"], "status": "cancelled"}
    r = await kit.client.post(f"{url}/cancel", headers=alice.headers)  # again: 200, no change
    assert r.status_code == 200 and r.json() == {"id": pending["id"], "status": "cancelled"}
    job = (await kit.client.get(url, headers=alice.headers)).json()
    assert job["status"] == "cancelled" and job["cancelled_by"] == alice.id and job["queue"] is None
    assert job["finished_at"] is not None and job["error"] is None and job["cancel_sent_at"] is None
    assert await kit.count(kit.t.events, "job = {} AND type = 'job.cancelled'", pending["id"]) == 1
    kit.error(await kit.client.get(f"{url}/result", headers=alice.headers), 409, "no_results")
    # running jobs: result not ready; a superuser may cancel anyone's job
    running = await kit.job(alice)
    await kit.set_job(running["id"], state="running", attempt=1)
    kit.error(await kit.client.get(f"/api/jobs/{running['id']}/result", headers=alice.headers), 409, "job_not_finished")
    r = await kit.client.post(f"/api/jobs/{running['id']}/cancel", headers=admin.headers)
    assert r.status_code == 200
    job = (await kit.client.get(f"/api/jobs/{running['id']}", headers=alice.headers)).json()
    assert job["cancelled_by"] == admin.id and job["cancel_sent_at"] is not None
    # finished jobs cannot be cancelled; their result is served
    doc = {
        "success": True,
        "status": "COMPLETED",
        "job_id": "x",
        "results": [
            {"shots": 10, "success": True, "header": {"name": "circuit-0"}, "data": {"counts": {"0x0": 6, "0x3": 4}}}
        ],
    }
    done = await kit.job(alice)
    await kit.set_job(done["id"], state="completed", attempt=1, results=json.dumps(doc))
    failed = await kit.job(alice)
    failure = {"success": False, "status": "ERROR", "job_id": failed["id"], "error": "qasm_parse_error: line 1"}
    await kit.set_job(
        failed["id"],
        state="failed",
        attempt=1,
        failure_reason="qasm_parse_error",
        error_message="line 1",
        results=json.dumps(failure),
    )
    for job_id in (done["id"], failed["id"]):
        kit.error(await kit.client.post(f"/api/jobs/{job_id}/cancel", headers=alice.headers), 409, "job_finished")
        kit.error(await kit.client.post(f"/api/jobs/{job_id}/cancel", headers=admin.headers), 409, "job_finished")
    r = await kit.client.get(f"/api/jobs/{done['id']}/result", headers=alice.headers)
    assert r.status_code == 200 and r.json()["results"][0]["data"]["counts"] == {"0x0": 6, "0x3": 4}
    assert r.json()["backend_name"] == "sim"
    kit.error(await kit.client.get(f"/api/jobs/{done['id']}/result", headers=bob.headers), 404, "not_found")
    r = await kit.client.get(f"/api/jobs/{failed['id']}/result", headers=alice.headers)
    assert r.status_code == 200 and r.json()["success"] is False and r.json()["error"].startswith("qasm_parse_error")
    job = (await kit.client.get(f"/api/jobs/{failed['id']}", headers=alice.headers)).json()
    assert job["status"] == "failed" and job["failure_reason"] == "qasm_parse_error"
    assert job["error"] == {"code": "qasm_parse_error", "message": "line 1"}
    assert (await kit.store.jobs.get(done["id"])).state == "completed"
