"""API tokens (api.md §2.7), and no raw credential at rest (§1.3, §4)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

TOKEN_FIELDS = {"id", "name", "prefix", "created", "expires_at", "last_used_at"}


def ts(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def test_create_read_update_delete(kit: Any) -> None:
    alice = await kit.user()
    bob = await kit.user()
    r = await kit.client.post("/api/tokens", json={"name": "laptop"}, headers=alice.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    raw = created.pop("token")
    assert re.fullmatch(r"qpi_[0-9a-f]{64}", raw)
    assert set(created) == TOKEN_FIELDS
    assert created["prefix"] == raw[:12] and created["name"] == "laptop" and created["expires_at"] is None
    assert r.headers["Location"] == f"/api/tokens/{created['id']}"
    token_id = created["id"]
    # usable at once, and the use is recorded
    r = await kit.client.get("/api/auth/me", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200 and r.json()["token_id"] == token_id
    r = await kit.client.get(f"/api/tokens/{token_id}", headers=alice.headers)
    assert r.status_code == 200 and set(r.json()) == TOKEN_FIELDS and r.json()["last_used_at"] is not None
    # list: own tokens only, never a raw value or hash
    r = await kit.client.get("/api/tokens", headers=alice.headers)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    assert all(set(t) == TOKEN_FIELDS for t in r.json()) and raw not in r.text
    r = await kit.client.get("/api/tokens", headers=bob.headers)
    assert [t["id"] for t in r.json()] != [] and token_id not in r.text
    # patch: name, expiry, back to never
    later = ts(timedelta(days=3))
    r = await kit.client.patch(
        f"/api/tokens/{token_id}", json={"name": "old laptop", "expires_at": later}, headers=alice.headers
    )
    assert r.status_code == 200 and r.json()["name"] == "old laptop" and r.json()["expires_at"].endswith("Z")
    r = await kit.client.patch(f"/api/tokens/{token_id}", json={"expires_at": None}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["expires_at"] is None and r.json()["name"] == "old laptop"
    kit.error(
        await kit.client.patch(
            f"/api/tokens/{token_id}", json={"expires_at": ts(-timedelta(hours=1))}, headers=alice.headers
        ),
        400,
        "invalid_expiry",
        "expires_at",
    )
    kit.error(
        await kit.client.patch(f"/api/tokens/{token_id}", json={"user_id": bob.id}, headers=alice.headers),
        400,
        "unknown_field",
        "user_id",
    )
    # another user: 404 on every route; a superuser may
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        r = await kit.client.request(method, f"/api/tokens/{token_id}", json=body, headers=bob.headers)
        kit.error(r, 404, "not_found")
    assert (await kit.store.credentials.get_token(token_id)).name == "old laptop"
    r = await kit.client.delete(f"/api/tokens/{token_id}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {"status": "deleted"}
    kit.error(await kit.client.get(f"/api/tokens/{token_id}", headers=alice.headers), 404, "not_found")
    kit.error(await kit.client.get("/api/auth/me", headers={"X-API-Token": raw}), 401, "invalid_token")


async def test_expiry_rules(kit: Any) -> None:
    alice = await kit.user()
    before = await kit.count(kit.t.api_tokens)
    cases = [
        ({"expires_at": ts(-timedelta(minutes=1))}, "invalid_expiry", "expires_at"),
        ({"expires_at": ts(timedelta(days=1)), "expires_in": 60}, None, None),
        ({"expires_at": "2099-01-01T00:00:00"}, "invalid_request", "expires_at"),  # no offset
        ({"expires_at": "tomorrow"}, "invalid_request", "expires_at"),
        ({"expires_in": -5}, "invalid_request", "expires_in"),
        ({"expires_in": "soon"}, "invalid_request", "expires_in"),
        ({"name": "x" * 101}, "invalid_request", "name"),
        ({"user_id": "someone"}, "unknown_field", "user_id"),
    ]
    for body, code, field in cases:
        r = await kit.client.post("/api/tokens", json=body, headers=alice.headers)
        assert r.status_code == 400, (body, r.text)
        if code is not None:
            kit.error(r, 400, code, field)
    assert await kit.count(kit.t.api_tokens) == before
    r = await kit.client.post("/api/tokens", json={"expires_in": 3600}, headers=alice.headers)
    assert r.status_code == 201
    expires = datetime.fromisoformat(r.json()["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    # an offset is converted to UTC
    r = await kit.client.post("/api/tokens", json={"expires_at": "2099-01-01T02:00:00+02:00"}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["expires_at"] == "2099-01-01T00:00:00.000Z"


async def test_token_limit_and_expiry(make_kit: Any, clock: Any) -> None:
    async with make_kit(max_tokens_per_user="2", clock=clock) as kit:
        alice = await kit.user()  # holds one token already
        r = await kit.client.post("/api/tokens", json={"expires_in": 60}, headers=alice.headers)
        assert r.status_code == 201
        short = r.json()["token"]
        before = await kit.count(kit.t.api_tokens)
        r = await kit.client.post("/api/tokens", json={}, headers=alice.headers)
        kit.error(r, 409, "token_limit")
        assert await kit.count(kit.t.api_tokens) == before
        assert (await kit.client.get("/api/auth/me", headers={"X-API-Token": short})).status_code == 200
        clock.advance(61)
        kit.error(await kit.client.get("/api/auth/me", headers={"X-API-Token": short}), 401, "token_expired")
        assert (await kit.client.get("/api/auth/me", headers=alice.headers)).status_code == 200


async def test_list_options(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    for name in ("b", "c", "a"):
        assert (await kit.client.post("/api/tokens", json={"name": name}, headers=alice.headers)).status_code == 201
    r = await kit.client.get("/api/tokens?sort=name", headers=alice.headers)
    assert [t["name"] for t in r.json()] == ["a", "b", "c", "test"]
    r = await kit.client.get("/api/tokens?sort=name&skip=1&limit=2", headers=alice.headers)
    assert [t["name"] for t in r.json()] == ["b", "c"] and r.headers["X-Total-Count"] == "4"
    r = await kit.client.get("/api/tokens?sort=-created&per_page=1&page=2", headers=alice.headers)
    assert [t["name"] for t in r.json()] == ["c"] and r.headers["X-Total-Pages"] == "4"
    kit.error(await kit.client.get("/api/tokens?sort=prefix", headers=alice.headers), 400, "invalid_sort", "sort")
    kit.error(await kit.client.get("/api/tokens?page=1&limit=2", headers=alice.headers), 400, "invalid_request")
    kit.error(await kit.client.get("/api/tokens?colour=red", headers=alice.headers), 400, "invalid_request", "colour")
    kit.error(await kit.client.get(f"/api/tokens?user={admin.id}", headers=alice.headers), 400, "invalid_request")
    r = await kit.client.get(f"/api/tokens?user={alice.id}", headers=admin.headers)
    assert r.status_code == 200 and len(r.json()) == 4


async def _secrets_at_rest(kit: Any) -> list[str]:
    """Create every kind of credential through the API; return the raw values that were shown."""
    shown: list[str] = []
    admin = await kit.user(role="superuser")
    r = await kit.client.post(
        "/api/admin/users", json={"email": "p1@example.org", "password": "Plain-Password-1"}, headers=admin.headers
    )
    assert r.status_code == 201
    shown.append("Plain-Password-1")
    r = await kit.client.post("/api/admin/users", json={"email": "p2@example.org"}, headers=admin.headers)
    assert r.status_code == 201
    generated = r.json()["initial_password"]
    assert len(generated) == 20
    shown.append(generated)
    user_id = r.json()["id"]
    issued = "qpi_" + "ab" * 32
    r = await kit.client.patch(
        f"/api/admin/users/{user_id}", json={"api_tokens": [issued], "password": "Other-Pass-22"}, headers=admin.headers
    )
    assert r.status_code == 200
    shown += [issued, "Other-Pass-22"]
    assert (await kit.client.get("/api/auth/me", headers={"X-API-Token": issued})).json()["id"] == user_id
    r = await kit.client.post("/api/auth/login", json={"email": "p2@example.org", "password": "Other-Pass-22"})
    assert r.status_code == 200
    shown.append(r.json()["csrf_token"])  # the CSRF token is stored; the session token must not be
    session = r.cookies["qpi_session"]
    kit.client.cookies.clear()
    shown.pop()
    shown.append(session)
    r = await kit.client.post(
        "/api/auth/login", json={"email": "p1@example.org", "password": "Plain-Password-1", "mode": "token"}
    )
    shown.append(r.json()["session_token"])
    r = await kit.client.post("/api/tokens", json={"name": "t"}, headers=admin.headers)
    shown.append(r.json()["token"])
    qpu = await kit.qpu(admin, "sim", with_driver=True)
    shown.append(qpu["access_token"])
    r = await kit.client.post(
        "/api/op/drivers/create", json={"name": "d2", "qpu": "sim", "kind": "qiskit_aer"}, headers=admin.headers
    )
    shown.append(r.json()["token"])
    r = await kit.client.post(f"/api/drivers/{r.json()['id']}/rotate-token", headers=admin.headers)
    shown.append(r.json()["token"])
    shown.append(admin.token)
    for raw in shown:
        assert raw  # every value above was really shown
    return shown


async def test_no_raw_credential_is_stored(kit: Any) -> None:
    shown = await _secrets_at_rest(kit)
    found: list[str] = []
    if kit.store.dialect == "sqlite":
        path = Path(str(kit.ctx.config.sqlite_path))
        data = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert b"p2@example.org" in data  # the search sees what was written (WAL included)
        found = [raw for raw in shown if raw.encode() in data]
    else:
        columns = await kit.rows(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')"
        )
        assert {c["table_name"] for c in columns} >= {kit.t.users, kit.t.sessions, kit.t.api_tokens, kit.t.drivers}
        everything = []
        for c in columns:
            rows = await kit.rows(f'SELECT "{c["column_name"]}"::text AS v FROM "{c["table_name"]}"')
            text = "\n".join(str(r["v"]) for r in rows if r["v"] is not None)
            everything.append(text)
            found += [f"{c['table_name']}.{c['column_name']}: {raw}" for raw in shown if raw in text]
        assert "p2@example.org" in "\n".join(everything)  # the search sees what was written
    assert found == []
    # what is stored instead: SHA-256 hashes and argon2id hashes
    hashes = await kit.rows(f"SELECT token_hash FROM {kit.t.api_tokens}")
    assert all(re.fullmatch(r"[0-9a-f]{64}", h["token_hash"]) for h in hashes)
    passwords = await kit.rows(f"SELECT password_hash FROM {kit.t.users} WHERE password_hash IS NOT NULL")
    assert passwords and all(p["password_hash"].startswith("$argon2id$") for p in passwords)
