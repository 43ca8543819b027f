"""The error shape, common headers, operations routes and the OpenAPI document (api.md §1.2, §1.10,
§2.1)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from qpi import __version__

pytestmark = pytest.mark.anyio


def one(r: Any, header: str) -> str:
    values = r.headers.get_list(header)
    assert len(values) == 1, (header, values)
    return str(values[0])


async def test_framework_errors_have_the_one_shape(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    alice = await kit.user()
    body = kit.error(await kit.client.get("/api/nothing-here"), 404, "not_found")
    assert "/api/nothing-here" in body["detail"]
    kit.error(await kit.client.get("/api/nothing-here", headers=alice.headers), 404, "not_found")
    kit.error(await kit.client.get("/schema/nothing-here"), 404, "not_found")
    kit.error(await kit.client.get("/nothing-here"), 404, "not_found")
    body = kit.error(await kit.client.delete("/api/health"), 405, "method_not_allowed")
    assert "DELETE" in body["detail"]
    kit.error(await kit.client.put("/api/jobs", json={}, headers=alice.headers), 405, "method_not_allowed")
    kit.error(await kit.client.get("/api/auth/login"), 405, "method_not_allowed")
    for r in (await kit.client.get("/api/nothing-here"), await kit.client.delete("/api/health")):
        assert r.headers["content-type"].startswith("application/json")
        assert set(r.json()) <= {"status", "error", "detail", "field"}


async def test_request_id(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    alice = await kit.user()
    requests = [
        ("GET", "/api/health", {}),
        ("GET", "/api/jobs", alice.headers),
        ("GET", "/api/jobs", {}),  # 401 from the credential layer
        ("GET", "/api/nothing", {}),  # 404 from the router
        ("POST", "/api/jobs", {**alice.headers, "content-type": "text/plain"}),  # 415
        ("POST", "/api/jobs", {**alice.headers, "content-type": "application/json"}),  # 400 from the handler
    ]
    for method, path, headers in requests:
        r = await kit.client.request(method, path, headers={**headers, "X-Request-ID": "trace-42.A_b"}, content=b"{}")
        assert one(r, "x-request-id") == "trace-42.A_b", (method, path, r.status_code)
        for bad in ("has space", "x" * 65, "semi;colon"):
            r = await kit.client.request(method, path, headers={**headers, "X-Request-ID": bad}, content=b"{}")
            generated = one(r, "x-request-id")
            assert generated != bad and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", generated), (path, generated)
        r = await kit.client.request(method, path, headers=headers, content=b"{}")
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", one(r, "x-request-id"))
    # a 5xx-style body names the request id only where one is produced; a replayed response carries the new id
    admin = await kit.user(role="superuser")
    await kit.qpu(admin, "sim")
    key = {**alice.headers, "Idempotency-Key": "rid"}
    await kit.client.post("/api/jobs", json={"circuits": [], "qpu_target": "sim"}, headers=key)
    r = await kit.client.post(
        "/api/jobs", json={"circuits": [], "qpu_target": "sim"}, headers={**key, "X-Request-ID": "second"}
    )
    assert one(r, "x-request-id") == "second" and r.headers["Idempotent-Replayed"] == "true"


async def test_cache_control(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    alice = await kit.user()
    session = await kit.session(alice)
    for headers in (alice.headers, session.bearer):
        for path in ("/api/auth/me", "/api/qpus", "/api/jobs", "/api/jobs/nosuchjob000000"):
            r = await kit.client.get(path, headers=headers)
            assert one(r, "cache-control") == "no-store", (path, r.status_code)
    r = await kit.client.post("/api/jobs", json={"circuits": []}, headers=alice.headers)
    assert r.status_code == 400 and one(r, "cache-control") == "no-store"


async def test_operations_routes(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    r = await kit.client.get("/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await kit.client.get("/api/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "tasks": "ok"}}
    r = await kit.client.get("/api/op/version", headers=admin.headers)
    assert r.status_code == 200 and r.json() == {"version": __version__}
    r = await kit.client.get("/api/pub/root-ca.pem")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-pem-file")
    cert = x509.load_pem_x509_certificate(r.content)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert r.headers["X-CA-Fingerprint"] == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert r.headers["X-CA-Fingerprint"] == kit.ctx.tls.fingerprint


@pytest.mark.xfail(strict=True, reason="GET / → 302 /dashboard/ (api.md §1.1) comes with the dashboard")
async def test_root_redirects_to_the_dashboard(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    r = await kit.client.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/"


async def test_metrics(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    admin = await kit.user(role="superuser")
    await kit.qpu(admin, "sim")
    r = await kit.client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    for name in (
        "qpi_http_requests_total",
        "qpi_jobs_submitted_total",
        "qpi_jobs_finished_total",
        "qpi_queue_depth",
        "qpi_dispatch_latency_seconds",
        "qpi_drivers_online",
    ):
        assert name in r.text
    assert 'qpi_queue_depth{qpu="sim"} 0.0' in r.text


async def test_metrics_token_and_switch(make_sqlite_kit: Any) -> None:
    async with make_sqlite_kit(metrics_token="s3cret-metrics") as kit:
        assert (await kit.client.get("/metrics")).status_code == 401
        r = await kit.client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics"})
        assert r.status_code == 200
    async with make_sqlite_kit(metrics="false") as kit:
        r = await kit.client.get("/metrics")
        assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_openapi_document(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    from openapi_spec_validator import validate

    r = await kit.client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    # the document's paths are the app's routes (the /schema pages themselves excepted), and back
    served: dict[str, set[str]] = {}
    for route in kit.server.app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path == "/schema" or path.startswith("/schema/"):
            continue
        served.setdefault(path, set()).update(m.lower() for m in route.methods if m not in {"OPTIONS", "HEAD"})
    documented = {
        path: {m for m in ops if m in {"get", "post", "put", "patch", "delete"}} for path, ops in doc["paths"].items()
    }
    assert documented == served
    operation_ids = [
        op.get("operationId")
        for ops in doc["paths"].values()
        for op in ops.values()
        if isinstance(op, dict) and "responses" in op
    ]
    assert operation_ids and all(operation_ids) and len(set(operation_ids)) == len(operation_ids)
    # every error response documents the one error shape
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if isinstance(op, dict) and "responses" in op:
                errors = [code for code in op["responses"] if code.startswith(("4", "5"))]
                if path.startswith("/api/") and path not in {"/api/health", "/api/auth/methods"}:
                    assert errors, (method, path)
