"""Users and balances (api.md §2.3): registration, listing, edits, deletion, the ledger."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

USER_FIELDS = {
    "id",
    "email",
    "name",
    "role",
    "disabled",
    "qpu_seconds",
    "unlimited",
    "created",
    "updated",
    "last_login_at",
}


async def test_create_users(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    r = await kit.client.post(
        "/api/admin/users",
        json={"email": "Ada@Example.org", "name": "Ada", "password": "long-password", "qpu_seconds": 12.5},
        headers=h,
    )
    assert r.status_code == 201, r.text
    ada = r.json()
    assert set(ada) == USER_FIELDS  # no initial_password when one was given
    assert ada["email"] == "Ada@Example.org" and ada["role"] == "user" and ada["qpu_seconds"] == 12.5
    assert ada["unlimited"] is False and r.headers["Location"] == f"/api/admin/users/{ada['id']}"
    entries = await kit.rows(f"SELECT kind, amount_ms, actor FROM {kit.t.ledger} WHERE user_id = {{}}", ada["id"])
    assert entries == [{"kind": "initial", "amount_ms": 12500, "actor": admin.id}]
    r = await kit.client.post("/api/admin/users", json={"email": "root@example.org", "role": "superuser"}, headers=h)
    assert r.status_code == 201
    root = r.json()
    assert set(root) == USER_FIELDS | {"initial_password"} and len(root["initial_password"]) == 20
    assert root["unlimited"] is True and root["qpu_seconds"] == 0  # --default-qpu-seconds
    assert await kit.count(kit.t.ledger, "user_id = {}", root["id"]) == 0  # no entry for a zero start
    # the generated password signs in
    r = await kit.client.post(
        "/api/auth/login", json={"email": "root@example.org", "password": root["initial_password"], "mode": "token"}
    )
    assert r.status_code == 200
    before = await kit.counts()
    for body, status, code, field in (
        ({"email": "ada@EXAMPLE.org"}, 409, "email_taken", None),
        ({"email": "no-at-sign"}, 400, "invalid_request", "email"),
        ({"email": "x@y.z", "password": "short"}, 400, "invalid_request", "password"),
        ({"email": "x@y.z", "role": "admin"}, 400, "invalid_request", "role"),
        ({"email": "x@y.z", "qpu_seconds": -1}, 400, "invalid_request", "qpu_seconds"),
        ({"email": "x@y.z", "qpu_seconds": 1e9 + 1}, 400, "invalid_request", "qpu_seconds"),
        ({"email": "x@y.z", "name": "n" * 101}, 400, "invalid_request", "name"),
        ({"email": "x@y.z", "balance": 5}, 400, "unknown_field", "balance"),
        ({"name": "nobody"}, 400, "invalid_request", "email"),
    ):
        kit.error(await kit.client.post("/api/admin/users", json=body, headers=h), status, code, field)
    assert await kit.counts() == before
    await kit.ledger_invariant()


async def test_list_users(kit: Any) -> None:
    admin = await kit.user(role="superuser", email="zed@example.org")
    h = admin.headers
    await kit.user(email="amy@example.org", seconds=5)
    carl = await kit.user(email="carl@lab.org", seconds=50)
    await kit.store.users.update(carl.id, {"disabled": True, "name": "Carl Disabled"}, now=kit.ctx.clock.now_us())

    async def emails(query: str) -> list[str]:
        r = await kit.client.get(f"/api/admin/users{query}", headers=h)
        assert r.status_code == 200, r.text
        return [u["email"] for u in r.json()]

    assert await emails("") == ["amy@example.org", "carl@lab.org", "zed@example.org"]
    assert await emails("?q=LAB") == ["carl@lab.org"]
    assert await emails("?q=disabled") == ["carl@lab.org"]  # name substring
    assert await emails("?role=superuser") == ["zed@example.org"]
    assert await emails("?disabled=true") == ["carl@lab.org"]
    assert await emails("?disabled=false&sort=-email") == ["zed@example.org", "amy@example.org"]
    assert await emails("?sort=-qpu_seconds") == ["zed@example.org", "carl@lab.org", "amy@example.org"]
    r = await kit.client.get("/api/admin/users?per_page=2&page=2", headers=h)
    assert [u["email"] for u in r.json()] == ["zed@example.org"]
    assert r.headers["X-Total-Count"] == "3" and r.headers["X-Total-Pages"] == "2" and 'rel="prev"' in r.headers["Link"]
    kit.error(await kit.client.get("/api/admin/users?sort=password", headers=h), 400, "invalid_sort")
    kit.error(await kit.client.get("/api/admin/users?role=root", headers=h), 400, "invalid_request", "role")
    kit.error(await kit.client.get("/api/admin/users?disabled=maybe", headers=h), 400, "invalid_request")
    kit.error(await kit.client.get("/api/admin/users?per_page=501", headers=h), 400, "invalid_request")
    kit.error(await kit.client.get("/api/admin/users?skip=1", headers=h), 400, "invalid_request")
    r = await kit.client.get(f"/api/admin/users/{carl.id}", headers=h)
    assert r.status_code == 200 and r.json()["disabled"] is True and r.json()["qpu_seconds"] == 50
    kit.error(await kit.client.get("/api/admin/users/nosuchuser0000", headers=h), 404, "not_found")


async def test_update_users(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    alice = await kit.user(seconds=10)
    bob = await kit.user()
    r = await kit.client.patch(f"/api/admin/users/{alice.id}", json={"name": "Alice", "qpu_seconds": 3.25}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Alice" and r.json()["qpu_seconds"] == 3.25
    entry = await kit.rows(
        f"SELECT kind, amount_ms, balance_after_ms FROM {kit.t.ledger} WHERE user_id = {{}} AND kind = 'set'", alice.id
    )
    assert entry == [{"kind": "set", "amount_ms": 3250 - 10000, "balance_after_ms": 3250}]
    # admin-issued raw tokens: stored hashed, named admin-issued, usable at once
    raw = "qpi_" + "cd" * 32
    r = await kit.client.patch(f"/api/admin/users/{alice.id}", json={"api_tokens": [raw]}, headers=h)
    assert r.status_code == 200
    assert (await kit.client.get("/api/auth/me", headers={"X-API-Token": raw})).json()["id"] == alice.id
    names = await kit.rows(f"SELECT name, prefix FROM {kit.t.api_tokens} WHERE user_id = {{}} ORDER BY name", alice.id)
    assert {"name": "admin-issued", "prefix": raw[:12]} in names
    before = await kit.counts()
    for body, status, code, field in (
        ({"api_tokens": [raw]}, 409, "token_exists", None),
        ({"api_tokens": ["qpi_short"]}, 400, "invalid_request", "api_tokens[0]"),
        ({"api_tokens": [raw.replace("c", "e"), "qpi_" + "a" * 64 + "\n"]}, 400, "invalid_request", "api_tokens[1]"),
        ({"api_tokens": ["qpi_" + "a" * 64] * 51}, 400, "invalid_request", "api_tokens"),
        ({"email": bob.email.upper()}, 409, "email_taken", None),
        ({"qpu_seconds": -1}, 400, "invalid_request", "qpu_seconds"),
        ({"role": "root"}, 400, "invalid_request", "role"),
        ({"balance_ms": 5}, 400, "unknown_field", "balance_ms"),
    ):
        r = await kit.client.patch(f"/api/admin/users/{alice.id}", json=body, headers=h)
        kit.error(r, status, code, field)
    assert await kit.counts() == before
    kit.error(
        await kit.client.patch("/api/admin/users/nosuchuser0000", json={"name": "x"}, headers=h), 404, "not_found"
    )
    # promotion and e-mail change
    r = await kit.client.patch(
        f"/api/admin/users/{bob.id}", json={"role": "superuser", "email": "Bob@New.org"}, headers=h
    )
    assert r.status_code == 200 and r.json()["role"] == "superuser" and r.json()["unlimited"] is True
    assert (await kit.store.users.get_by_email("bob@new.org")).id == bob.id
    await kit.ledger_invariant()


async def test_last_superuser_and_deletion(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    me = f"/api/admin/users/{admin.id}"
    kit.error(await kit.client.patch(me, json={"role": "user"}, headers=h), 409, "last_superuser")
    kit.error(await kit.client.patch(me, json={"disabled": True}, headers=h), 409, "last_superuser")
    kit.error(await kit.client.delete(me, headers=h), 409, "cannot_delete_self")
    assert (await kit.store.users.get(admin.id)).role == "superuser"
    # with a second superuser, demoting one is fine
    second = await kit.user(role="superuser")
    r = await kit.client.patch(f"/api/admin/users/{second.id}", json={"role": "user"}, headers=h)
    assert r.status_code == 200 and r.json()["role"] == "user"
    kit.error(await kit.client.patch(me, json={"role": "user"}, headers=h), 409, "last_superuser")
    # deletion: refused while the user has active jobs
    alice = await kit.user()
    await kit.session(alice)
    await kit.qpu(admin, "sim")
    pending = await kit.job(alice)
    done = await kit.job(alice)
    await kit.set_job(done["id"], state="completed", finished_at=kit.ctx.clock.now_us())
    kit.error(await kit.client.delete(f"/api/admin/users/{alice.id}", headers=h), 409, "user_has_active_jobs")
    assert await kit.store.users.get(alice.id) is not None
    assert (await kit.client.post(f"/api/jobs/{pending['id']}/cancel", headers=alice.headers)).status_code == 200
    r = await kit.client.delete(f"/api/admin/users/{alice.id}", headers=h)
    assert r.status_code == 204, r.text
    kit.error(await kit.client.get(f"/api/admin/users/{alice.id}", headers=h), 404, "not_found")
    kit.error(await kit.client.delete(f"/api/admin/users/{alice.id}", headers=h), 404, "not_found")
    assert await kit.count(kit.t.sessions, "user_id = {}", alice.id) == 0
    assert await kit.count(kit.t.api_tokens, "user_id = {}", alice.id) == 0
    kit.error(await kit.client.get("/api/jobs", headers=alice.headers), 401, "invalid_token")
    # finished jobs and ledger entries stay, without their owner
    r = await kit.client.get(f"/api/jobs/{done['id']}", headers=h)
    assert r.status_code == 200 and r.json()["owner"] is None
    assert await kit.count(kit.t.ledger, "user_id IS NULL AND kind = 'initial'") == 1
    await kit.ledger_invariant()


async def test_balances(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    alice = await kit.user(seconds=10)
    bob = await kit.user(seconds=10)
    url = f"/api/admin/users/{alice.id}/balance"
    r = await kit.client.post(url, json={"op": "grant", "seconds": 2.5, "reason": "course"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == alice.id and body["qpu_seconds"] == 12.5
    entry = body["entry"]
    assert entry["kind"] == "grant" and entry["amount"] == 2.5 and entry["balance_after"] == 12.5
    assert entry["actor"] == admin.id and entry["reason"] == "course" and entry["user"] == alice.id
    r = await kit.client.post(url, json={"op": "set", "seconds": 4}, headers=h)
    assert r.json()["qpu_seconds"] == 4 and r.json()["entry"]["amount"] == -8.5
    r = await kit.client.post(url, json={"op": "set", "seconds": 0}, headers=h)
    assert r.status_code == 200 and r.json()["qpu_seconds"] == 0
    before = await kit.counts()
    for body_, status, code in (
        ({"op": "grant", "seconds": 0}, 400, "invalid_request"),
        ({"op": "grant", "seconds": -1}, 400, "invalid_request"),
        ({"op": "grant", "seconds": 1e9 + 1}, 400, "invalid_request"),
        ({"op": "grant"}, 400, "invalid_request"),
        ({"op": "set", "seconds": -0.5}, 400, "invalid_request"),
        ({"op": "steal", "seconds": 1}, 400, "invalid_request"),
        ({"op": "refund"}, 400, "invalid_request"),
        ({"op": "grant", "seconds": 1, "amount": 1}, 400, "unknown_field"),
        ({"op": "grant", "seconds": "lots"}, 400, "invalid_request"),
    ):
        kit.error(await kit.client.post(url, json=body_, headers=h), status, code)
    kit.error(
        await kit.client.post("/api/admin/users/nosuchuser0000/balance", json={"op": "grant", "seconds": 1}, headers=h),
        404,
        "not_found",
    )
    assert await kit.counts() == before
    # refund: credits back a charged job's usage, exactly once
    await kit.qpu(admin, "sim")
    await kit.client.post(url, json={"op": "grant", "seconds": 10}, headers=h)
    job = await kit.job(alice)
    kit.error(await kit.client.post(url, json={"op": "refund", "job": job["id"]}, headers=h), 409, "not_charged")
    await kit.charge(alice.id, job["id"], 1500)
    await kit.set_job(job["id"], state="completed", charged_ms=1500, duration_ms=1500)
    kit.error(
        await kit.client.post(f"/api/admin/users/{bob.id}/balance", json={"op": "refund", "job": job["id"]}, headers=h),
        404,
        "not_found",
    )
    r = await kit.client.post(url, json={"op": "refund", "job": job["id"], "reason": "calibration drift"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["entry"]["kind"] == "refund" and r.json()["entry"]["amount"] == 1.5
    assert r.json()["entry"]["job"] == job["id"] and r.json()["qpu_seconds"] == 10
    kit.error(await kit.client.post(url, json={"op": "refund", "job": job["id"]}, headers=h), 409, "already_refunded")
    # a user never changes their own balance
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/api/admin/users/{alice.id}/balance", {"op": "grant", "seconds": 100}),
        ("PATCH", f"/api/admin/users/{alice.id}", {"qpu_seconds": 100}),
    ]
    for method, path, body_ in attempts:
        kit.error(await kit.client.request(method, path, json=body_, headers=alice.headers), 403, "forbidden")
    assert (await kit.store.users.get(alice.id)).balance_ms == 10_000
    # the ledger as the users see it
    r = await kit.client.get("/api/ledger", headers=alice.headers)
    assert r.status_code == 200 and {e["user"] for e in r.json()} == {alice.id}
    assert [e["kind"] for e in r.json()][:3] == ["refund", "usage", "grant"]  # newest first
    kit.error(await kit.client.get(f"/api/ledger?user={bob.id}", headers=alice.headers), 400, "invalid_request")
    r = await kit.client.get(f"/api/ledger?user={bob.id}", headers=h)
    assert [e["kind"] for e in r.json()] == ["initial"]
    r = await kit.client.get(f"/api/ledger?kind=set&user={alice.id}&sort=created", headers=h)
    assert [e["amount"] for e in r.json()] == [-8.5, -4.0]
    await kit.ledger_invariant()
