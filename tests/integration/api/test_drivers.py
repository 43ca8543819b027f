"""Driver records (api.md §2.5): registration, snippets, toggle, lists, edits, deletion, rotation."""

from __future__ import annotations

import hashlib
import re
import shlex
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

DRIVER_FIELDS = {
    "id",
    "name",
    "qpu",
    "kind",
    "role",
    "language",
    "events",
    "enabled",
    "status",
    "token_prefix",
    "nng_port",
    "reported",
    "last_seen",
    "connected_at",
    "client_cert_expires_at",
    "created",
    "updated",
}
ODD_NAME = 'lab driver\'s "#1" $HOME'


def sha(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def argv_value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


async def test_create(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    qpu = await kit.qpu(admin, "sim")
    r = await kit.client.post(
        "/api/op/drivers/create", json={"name": ODD_NAME, "qpu": "sim", "kind": "qiskit_aer"}, headers=h
    )
    assert r.status_code == 201, r.text
    d = r.json()
    assert set(d) == DRIVER_FIELDS | {"token", "ca_fingerprint", "qpi_addr", "driver_version", "snippets"}
    assert r.headers["Location"] == f"/api/drivers/{d['id']}"
    token = d["token"]
    assert re.fullmatch(r"qpi_[0-9a-f]{64}", token) and d["token_prefix"] == token[:12]
    assert d["qpu"] == {"id": qpu["id"], "name": "sim"} and d["kind"] == "qiskit_aer" and d["role"] == "process"
    assert d["language"] == "python" and d["enabled"] is True and d["status"] == "offline"
    assert d["reported"] == {"name": "", "host": "", "version": "", "executor": "", "workers": 0}
    assert d["ca_fingerprint"] == (await kit.client.get("/api/pub/root-ca.pem")).headers["X-CA-Fingerprint"]
    assert d["qpi_addr"] == kit.ctx.config.public_url
    # snippets are shell-quoted: a shell splits them back into the exact values
    assert set(d["snippets"]) == {"systemd", "manual_cli"}
    argv = shlex.split(d["snippets"]["systemd"])
    assert argv[:3] == ["qpi", "driver", "install-systemd"]
    assert argv_value(argv, "--name") == ODD_NAME and argv_value(argv, "--token") == token
    assert argv_value(argv, "--qpi-addr") == kit.ctx.config.public_url
    assert (
        argv_value(argv, "--ca-fingerprint") == d["ca_fingerprint"] and argv_value(argv, "--executor") == "qiskit_aer"
    )
    manual = d["snippets"]["manual_cli"]
    assert manual.startswith("pipx install 'qpi[aer]' && qpi driver start ")
    assert argv_value(shlex.split(manual.split(" && ", 1)[1]), "--name") == ODD_NAME
    # stored hashed; never readable again; not a user credential
    rows = await kit.rows(f"SELECT token_hash FROM {kit.t.drivers} WHERE id = {{}}", d["id"])
    assert rows == [{"token_hash": sha(token)}]
    r = await kit.client.get(f"/api/drivers/{d['id']}", headers=h)
    assert set(r.json()) == DRIVER_FIELDS and token not in r.text
    kit.error(await kit.client.get("/api/jobs", headers={"X-API-Token": token}), 401, "invalid_token")


async def test_custom_kinds_and_errors(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    await kit.qpu(admin, "sim")

    async def create(**body: Any) -> Any:
        return await kit.client.post("/api/op/drivers/create", json={"name": "d", "qpu": "sim", **body}, headers=h)

    r = await create(kind="custom", events=["CryostatReading"])
    assert r.status_code == 201 and r.json()["role"] == "monitor" and r.json()["events"] == ["CryostatReading"]
    assert set(r.json()["snippets"]) == {"install", "stub"}
    stub = shlex.split(r.json()["snippets"]["stub"])
    assert argv_value(stub, "--token") == r.json()["token"]
    r = await create(kind="custom", events=["JobResult", "JobDispatch", "JobDispatch"])
    assert r.status_code == 201 and r.json()["role"] == "process"
    assert sorted(r.json()["events"]) == ["JobDispatch", "JobResult"]
    r = await create(kind="bluefors_gen1", events=["JobDispatch"])  # events ignored for catalog kinds
    assert r.status_code == 201 and r.json()["role"] == "monitor" and r.json()["events"] == ["CryostatReading"]
    before = await kit.counts()
    for body, code, field in (
        ({"kind": "custom"}, "events_required", "events"),
        ({"kind": "custom", "events": ["JobDispatch", "Telepathy"]}, "unknown_event", "events"),
        ({"kind": "custom", "events": []}, "invalid_request", "events"),
        ({"kind": "warp"}, "unknown_kind", "kind"),
        ({"kind": "mock", "language": "rust"}, "unsupported_language", "language"),
        ({"kind": "mock", "qpu": "nowhere"}, "qpu_not_found", "qpu"),
        ({"kind": "mock", "name": ""}, "invalid_request", "name"),
        ({"kind": "mock", "name": "x" * 65}, "invalid_request", "name"),
        ({"kind": "mock", "token": "qpi_" + "0" * 64}, "unknown_field", "token"),
    ):
        kit.error(await create(**body), 400, code, field)
    kit.error(
        await kit.client.post("/api/op/drivers/create", json={"name": "d", "kind": "mock"}, headers=h),
        400,
        "invalid_request",
        "qpu",
    )
    assert await kit.counts() == before


async def test_manage(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    h = admin.headers
    sim = await kit.qpu(admin, "sim")
    await kit.qpu(admin, "chip")
    ids = {}
    for name, qpu, kind in (("b-aer", "sim", "qiskit_aer"), ("a-mock", "sim", "mock"), ("c-chip", "chip", "qblox")):
        r = await kit.client.post("/api/op/drivers/create", json={"name": name, "qpu": qpu, "kind": kind}, headers=h)
        assert r.status_code == 201
        ids[name] = r.json()["id"]
    # toggle
    r = await kit.client.post("/api/op/drivers/toggle", json={"id": ids["a-mock"], "enabled": False}, headers=h)
    assert r.status_code == 200 and r.json() == {
        "id": ids["a-mock"],
        "name": "a-mock",
        "enabled": False,
        "status": "offline",
    }
    kit.error(
        await kit.client.post("/api/op/drivers/toggle", json={"id": "nosuchdriver000", "enabled": True}, headers=h),
        404,
        "not_found",
    )
    kit.error(
        await kit.client.post("/api/op/drivers/toggle", json={"id": ids["a-mock"]}, headers=h),
        400,
        "invalid_request",
        "enabled",
    )

    async def names(query: str) -> list[str]:
        r = await kit.client.get(f"/api/drivers{query}", headers=h)
        assert r.status_code == 200, r.text
        return [d["name"] for d in r.json()]

    assert await names("") == ["a-mock", "b-aer", "c-chip"]
    assert await names("?qpu=sim") == ["a-mock", "b-aer"]
    assert await names(f"?qpu={sim['id']}&sort=-name") == ["b-aer", "a-mock"]
    assert await names("?qpu=nowhere") == []
    assert await names("?kind=qblox") == ["c-chip"]
    assert await names("?enabled=false") == ["a-mock"]
    assert await names("?status=offline&per_page=2&page=2") == ["c-chip"]
    await kit.execute(f"UPDATE {kit.t.drivers} SET status = 'online' WHERE id = {{}}", ids["b-aer"])
    assert await names("?status=online") == ["b-aer"]
    for query in ("?status=asleep", "?enabled=2", "?sort=kind", "?skip=1", "?colour=red"):
        assert (await kit.client.get(f"/api/drivers{query}", headers=h)).status_code == 400, query
    # catalog
    r = await kit.client.get("/api/drivers/catalog", headers=h)
    catalog = {k["kind"]: k for k in r.json()}
    assert set(catalog) == {"mock", "qiskit_aer", "quantify", "qblox", "presto", "bluefors_gen1", "custom"}
    assert catalog["qiskit_aer"]["extra"] == "qpi[aer]" and catalog["bluefors_gen1"]["role"] == "monitor"
    assert all(set(k) == {"kind", "role", "extra", "events", "options"} for k in r.json())
    # get, patch
    r = await kit.client.get(f"/api/drivers/{ids['c-chip']}", headers=h)
    assert r.status_code == 200 and r.json()["qpu"]["name"] == "chip"
    kit.error(await kit.client.get("/api/drivers/nosuchdriver000", headers=h), 404, "not_found")
    r = await kit.client.patch(f"/api/drivers/{ids['a-mock']}", json={"name": "renamed", "enabled": True}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "renamed" and r.json()["enabled"] is True
    for body, code, field in (({"kind": "mock"}, "unknown_field", "kind"), ({"name": ""}, "invalid_request", "name")):
        kit.error(await kit.client.patch(f"/api/drivers/{ids['a-mock']}", json=body, headers=h), 400, code, field)
    kit.error(await kit.client.patch("/api/drivers/nosuchdriver000", json={"name": "x"}, headers=h), 404, "not_found")
    # rotate: the old hash is gone, the new one stored
    old_hash = (await kit.rows(f"SELECT token_hash FROM {kit.t.drivers} WHERE id = {{}}", ids["c-chip"]))[0]
    r = await kit.client.post(f"/api/drivers/{ids['c-chip']}/rotate-token", headers=h)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert set(rotated) == {"id", "token", "ca_fingerprint", "snippets"} and rotated["id"] == ids["c-chip"]
    assert argv_value(shlex.split(rotated["snippets"]["systemd"]), "--token") == rotated["token"]
    hashes = await kit.rows(f"SELECT token_hash, token_prefix FROM {kit.t.drivers} WHERE id = {{}}", ids["c-chip"])
    assert hashes == [{"token_hash": sha(rotated["token"]), "token_prefix": rotated["token"][:12]}]
    assert await kit.count(kit.t.drivers, "token_hash = {}", old_hash["token_hash"]) == 0
    kit.error(await kit.client.post("/api/drivers/nosuchdriver000/rotate-token", headers=h), 404, "not_found")
    # delete
    assert (await kit.client.delete(f"/api/drivers/{ids['c-chip']}", headers=h)).status_code == 204
    kit.error(await kit.client.get(f"/api/drivers/{ids['c-chip']}", headers=h), 404, "not_found")
    kit.error(await kit.client.delete(f"/api/drivers/{ids['c-chip']}", headers=h), 404, "not_found")
    assert await names("") == ["b-aer", "renamed"]
    assert await kit.store.qpus.get("chip") is not None  # the QPU stays
