"""The authorization matrix (api.md §1.4): every route of the app × anonymous / user / other user /
superuser. The routes are collected from the app itself, so a new route without an entry in
:data:`MATRIX` fails :func:`test_every_route_has_a_matrix_entry`.

Access words: ``public`` (everyone succeeds); ``driver`` (a driver token in the body only: a user
credential changes nothing); ``user`` (any signed-in account); ``session`` (any account, through a
session: the caller uses a session bearer); ``owner`` (alice's private resource: bob gets 404);
``holder`` (alice's booking: others may read it, so bob gets 403, not 404); ``superuser`` (users get
403 ``forbidden``). Anonymous callers get 401 ``unauthenticated`` on every
route that is neither public nor a driver's.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix

pytestmark = pytest.mark.anyio

CALLERS = ("anonymous", "alice", "bob", "admin")


@dataclass
class World:
    kit: Any
    admin: Any
    alice: Any
    bob: Any
    qpu: dict[str, Any]
    driver_id: str
    job_id: str
    done_job_id: str
    token_id: str
    sessions: dict[str, Any] = field(default_factory=dict)
    booking_id: str = ""
    request_id: str = ""
    notice_id: str = ""
    slots: int = 0

    def account(self, who: str) -> Any:
        return {"alice": self.alice, "bob": self.bob, "admin": self.admin}.get(who)

    async def fresh_token(self) -> str:
        raw = new_api_token()
        row = await self.kit.store.credentials.create_token(
            user_id=self.alice.id,
            name="spare",
            token_hash=sha256_hex(raw),
            prefix=token_prefix(raw),
            expires_at=None,
            now=self.kit.ctx.clock.now_us(),
            max_tokens=None,
        )
        return str(row.id)

    async def fresh_job(self) -> str:
        return str((await self.kit.job(self.alice))["id"])

    async def fresh_user(self) -> str:
        row = await self.kit.store.users.create(
            email=f"spare-{secrets.token_hex(4)}@example.org",
            name="spare",
            password_hash=None,
            role="user",
            balance_ms=0,
            now=self.kit.ctx.clock.now_us(),
            actor=None,
        )
        return str(row.id)

    async def fresh_qpu(self) -> str:
        return str((await self.kit.qpu(self.admin, f"q-{secrets.token_hex(3)}"))["name"])

    def window(self) -> dict[str, str]:
        """A future half hour that no other booking of this test uses."""
        self.slots += 1
        start = datetime.now(UTC) + timedelta(hours=2 * self.slots)
        return {"start_time": start.isoformat(), "end_time": (start + timedelta(minutes=30)).isoformat()}

    async def fresh_booking(self, *, ongoing: bool = False) -> str:
        """One of alice's bookings (made by the superuser, who may start it in the past)."""
        body: dict[str, Any] = {"booked_by": self.alice.id, "qpu": "sim", **self.window()}
        if ongoing:  # on its own QPU, so ongoing bookings never overlap
            now = datetime.now(UTC)
            body.update(
                qpu=await self.fresh_qpu(),
                start_time=(now - timedelta(minutes=1)).isoformat(),
                end_time=(now + timedelta(minutes=30)).isoformat(),
            )
        r = await self.kit.client.post("/api/bookings", json=body, headers=self.admin.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def fresh_request(self) -> str:
        body = {"seconds": 5, "requested_reason": "matrix"}
        r = await self.kit.client.post("/api/time-requests", json=body, headers=self.alice.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def fresh_notice(self) -> str:
        r = await self.kit.client.post("/api/notifications", json={"title": "matrix"}, headers=self.admin.headers)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def fresh_driver(self) -> str:
        r = await self.kit.client.post(
            "/api/op/drivers/create",
            json={"name": f"d-{secrets.token_hex(3)}", "qpu": "sim", "kind": "mock"},
            headers=self.admin.headers,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@dataclass(frozen=True)
class Req:
    path: str
    json: Any = None
    headers: dict[str, str] | None = None  # None: the caller's default credential


Prepare = Callable[[World, str], Awaitable[Req]]


@dataclass(frozen=True)
class Case:
    access: str
    ok: int
    prepare: Prepare
    stream: bool = False  # an endless response (SSE): only its status is read


def fixed(path: str, body: Any = None) -> Prepare:
    async def prepare(world: World, who: str) -> Req:
        return Req(path.format(w=world), body)

    return prepare


def make(build: Callable[[World, str], Awaitable[Req]]) -> Prepare:
    return build


async def _login(w: World, who: str) -> Req:
    account = w.account(who) or w.alice
    return Req("/api/auth/login", {"email": account.email, "password": account.password, "mode": "token"})


async def _logout(w: World, who: str) -> Req:
    account = w.account(who)
    if account is None:
        return Req("/api/auth/logout", headers={})
    session = await w.kit.session(account)
    return Req("/api/auth/logout", headers=session.bearer)


async def _new_user(w: World, who: str) -> Req:
    return Req("/api/admin/users", {"email": f"new-{secrets.token_hex(4)}@example.org", "password": "long-password"})


async def _delete_user(w: World, who: str) -> Req:
    return Req(f"/api/admin/users/{await w.fresh_user()}")


async def _delete_token(w: World, who: str) -> Req:
    return Req(f"/api/tokens/{await w.fresh_token()}")


async def _new_qpu(w: World, who: str) -> Req:
    return Req("/api/op/qpus/create", {"name": f"new-{secrets.token_hex(3)}", "with_driver": False})


async def _delete_qpu(w: World, who: str) -> Req:
    return Req(f"/api/qpus/{await w.fresh_qpu()}")


async def _new_driver(w: World, who: str) -> Req:
    return Req("/api/op/drivers/create", {"name": f"d-{secrets.token_hex(3)}", "qpu": "sim", "kind": "mock"})


async def _delete_driver(w: World, who: str) -> Req:
    return Req(f"/api/drivers/{await w.fresh_driver()}")


async def _cancel(w: World, who: str) -> Req:
    return Req(f"/api/jobs/{await w.fresh_job()}/cancel")


async def _new_booking(w: World, who: str) -> Req:
    return Req("/api/bookings", {"qpu": "sim", **w.window()})


async def _delete_booking(w: World, who: str) -> Req:
    return Req(f"/api/bookings/{await w.fresh_booking()}")


async def _release_booking(w: World, who: str) -> Req:
    return Req(f"/api/bookings/{await w.fresh_booking(ongoing=True)}/release")


async def _delete_request(w: World, who: str) -> Req:
    return Req(f"/api/time-requests/{await w.fresh_request()}")


async def _approve_request(w: World, who: str) -> Req:
    return Req(f"/api/time-requests/{await w.fresh_request()}/approve", {"note": "ok"})


async def _reject_request(w: World, who: str) -> Req:
    return Req(f"/api/time-requests/{await w.fresh_request()}/reject", {"reason": "no"})


async def _delete_notice(w: World, who: str) -> Req:
    return Req(f"/api/notifications/{await w.fresh_notice()}")


CONNECT = {"token": "qpi_" + "0" * 64, "csr": "-", "instance_id": "matrix"}
SUBMIT = {"circuits": [{"circuit": "OPENQASM 2.0; qreg q[1]; creg c[1]; measure q -> c;"}], "qpu_target": "sim"}

# (method, path template) → who may call it, the success status, and how to build the request.
MATRIX: dict[tuple[str, str], Case] = {
    # operations and public files
    ("GET", "/api/health"): Case("public", 200, fixed("/api/health")),
    ("GET", "/api/ready"): Case("public", 200, fixed("/api/ready")),
    ("GET", "/metrics"): Case("public", 200, fixed("/metrics")),
    ("GET", "/api/pub/root-ca.pem"): Case("public", 200, fixed("/api/pub/root-ca.pem")),
    ("GET", "/api/op/version"): Case("superuser", 200, fixed("/api/op/version")),
    ("GET", "/schema"): Case("public", 200, fixed("/schema")),
    ("GET", "/schema/scalar"): Case("public", 200, fixed("/schema/scalar")),
    ("GET", "/schema/openapi.json"): Case("public", 200, fixed("/schema/openapi.json")),
    ("GET", "/schema/{path}"): Case("public", 200, fixed("/schema/openapi.json")),
    # authentication and own account
    ("POST", "/api/auth/login"): Case("public", 200, _login),
    ("POST", "/api/auth/logout"): Case("session", 204, _logout),
    ("GET", "/api/auth/me"): Case("user", 200, fixed("/api/auth/me")),
    ("PATCH", "/api/auth/me"): Case("session", 200, fixed("/api/auth/me", {"name": "Renamed"})),
    ("GET", "/api/auth/methods"): Case("public", 200, fixed("/api/auth/methods")),
    # users and balances
    ("GET", "/api/admin/users"): Case("superuser", 200, fixed("/api/admin/users")),
    ("POST", "/api/admin/users"): Case("superuser", 201, _new_user),
    ("GET", "/api/admin/users/{user_id}"): Case("superuser", 200, fixed("/api/admin/users/{w.alice.id}")),
    ("PATCH", "/api/admin/users/{user_id}"): Case(
        "superuser", 200, fixed("/api/admin/users/{w.alice.id}", {"name": "Alice"})
    ),
    ("DELETE", "/api/admin/users/{user_id}"): Case("superuser", 204, _delete_user),
    ("POST", "/api/admin/users/{user_id}/balance"): Case(
        "superuser", 200, fixed("/api/admin/users/{w.alice.id}/balance", {"op": "grant", "seconds": 1})
    ),
    ("GET", "/api/ledger"): Case("user", 200, fixed("/api/ledger")),
    # API tokens
    ("GET", "/api/tokens"): Case("user", 200, fixed("/api/tokens")),
    ("POST", "/api/tokens"): Case("user", 201, fixed("/api/tokens", {"name": "matrix"})),
    ("GET", "/api/tokens/{token_id}"): Case("owner", 200, fixed("/api/tokens/{w.token_id}")),
    ("PATCH", "/api/tokens/{token_id}"): Case("owner", 200, fixed("/api/tokens/{w.token_id}", {"name": "renamed"})),
    ("DELETE", "/api/tokens/{token_id}"): Case("owner", 200, _delete_token),
    # QPUs
    ("POST", "/api/op/qpus/create"): Case("superuser", 201, _new_qpu),
    ("POST", "/api/op/qpu/toggle"): Case(
        "superuser", 200, fixed("/api/op/qpu/toggle", {"name": "sim", "enabled": True})
    ),
    ("GET", "/api/qpus"): Case("public", 200, fixed("/api/qpus")),
    ("GET", "/api/qpus/{name}"): Case("public", 200, fixed("/api/qpus/sim")),
    ("PATCH", "/api/qpus/{name}"): Case("superuser", 200, fixed("/api/qpus/sim", {"description": "matrix"})),
    ("DELETE", "/api/qpus/{name}"): Case("superuser", 204, _delete_qpu),
    # drivers
    ("POST", "/api/op/drivers/create"): Case("superuser", 201, _new_driver),
    ("POST", "/api/op/drivers/toggle"): Case(
        "superuser", 200, fixed("/api/op/drivers/toggle", {"id": "{w.driver_id}", "enabled": True})
    ),
    ("GET", "/api/drivers"): Case("superuser", 200, fixed("/api/drivers")),
    ("GET", "/api/drivers/catalog"): Case("superuser", 200, fixed("/api/drivers/catalog")),
    ("GET", "/api/drivers/{driver_id}"): Case("superuser", 200, fixed("/api/drivers/{w.driver_id}")),
    ("PATCH", "/api/drivers/{driver_id}"): Case("superuser", 200, fixed("/api/drivers/{w.driver_id}", {"name": "drv"})),
    ("DELETE", "/api/drivers/{driver_id}"): Case("superuser", 204, _delete_driver),
    ("POST", "/api/drivers/{driver_id}/rotate-token"): Case(
        "superuser", 200, fixed("/api/drivers/{w.driver_id}/rotate-token")
    ),
    # driver credential only: a user credential changes nothing, a wrong driver token is refused
    ("POST", "/api/op/drivers/connect"): Case("driver", 401, fixed("/api/op/drivers/connect", CONNECT)),
    ("POST", "/api/op/qpus/connect"): Case("driver", 401, fixed("/api/op/qpus/connect", CONNECT)),
    # events
    ("GET", "/api/events"): Case("user", 200, fixed("/api/events")),
    ("GET", "/api/events/stream"): Case("user", 200, fixed("/api/events/stream"), stream=True),
    ("GET", "/api/telemetry"): Case("superuser", 200, fixed("/api/telemetry?since=2020-01-01T00:00:00Z")),
    # bookings: readable by every user; changes by the holder (others get 403) or a superuser
    ("GET", "/api/bookings"): Case("user", 200, fixed("/api/bookings")),
    ("POST", "/api/bookings"): Case("user", 201, _new_booking),
    ("GET", "/api/bookings/{booking_id}"): Case("user", 200, fixed("/api/bookings/{w.booking_id}")),
    ("PATCH", "/api/bookings/{booking_id}"): Case("holder", 200, fixed("/api/bookings/{w.booking_id}", {"note": "n"})),
    ("DELETE", "/api/bookings/{booking_id}"): Case("holder", 204, _delete_booking),
    ("POST", "/api/bookings/{booking_id}/release"): Case("holder", 200, _release_booking),
    # QPU time requests
    ("GET", "/api/time-requests"): Case("user", 200, fixed("/api/time-requests")),
    ("POST", "/api/time-requests"): Case(
        "user", 201, fixed("/api/time-requests", {"seconds": 1.5, "requested_reason": "matrix"})
    ),
    ("GET", "/api/time-requests/{request_id}"): Case("owner", 200, fixed("/api/time-requests/{w.request_id}")),
    ("DELETE", "/api/time-requests/{request_id}"): Case("owner", 204, _delete_request),
    ("POST", "/api/time-requests/{request_id}/approve"): Case("superuser", 200, _approve_request),
    ("POST", "/api/time-requests/{request_id}/reject"): Case("superuser", 200, _reject_request),
    # notifications (a broadcast one: visible to every user)
    ("GET", "/api/notifications"): Case("user", 200, fixed("/api/notifications")),
    ("POST", "/api/notifications"): Case("superuser", 201, fixed("/api/notifications", {"title": "t"})),
    ("GET", "/api/notifications/{notification_id}"): Case("user", 200, fixed("/api/notifications/{w.notice_id}")),
    ("PATCH", "/api/notifications/{notification_id}"): Case(
        "superuser", 200, fixed("/api/notifications/{w.notice_id}", {"title": "edited"})
    ),
    ("DELETE", "/api/notifications/{notification_id}"): Case("superuser", 204, _delete_notice),
    ("POST", "/api/notifications/{notification_id}/dismiss"): Case(
        "user", 200, fixed("/api/notifications/{w.notice_id}/dismiss")
    ),
    ("POST", "/api/notifications/dismiss-all"): Case("user", 200, fixed("/api/notifications/dismiss-all")),
    # jobs
    ("POST", "/api/jobs"): Case("user", 201, fixed("/api/jobs", SUBMIT)),
    ("GET", "/api/jobs"): Case("user", 200, fixed("/api/jobs")),
    ("GET", "/api/jobs/{job_id}"): Case("owner", 200, fixed("/api/jobs/{w.job_id}")),
    ("GET", "/api/jobs/{job_id}/result"): Case("owner", 200, fixed("/api/jobs/{w.done_job_id}/result")),
    ("POST", "/api/jobs/{job_id}/cancel"): Case("owner", 200, _cancel),
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) the app serves, without OPTIONS/HEAD and ``:type`` suffixes."""
    out = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods:
            if method not in {"OPTIONS", "HEAD"}:
                out.add((method, path))
    return out


def expected(case: Case, who: str) -> tuple[int, str | None]:
    if case.access == "public":
        return case.ok, None
    if case.access == "driver":
        return case.ok, "invalid_token"
    if who == "anonymous":
        return 401, "unauthenticated"
    if case.access == "superuser" and who != "admin":
        return 403, "forbidden"
    if case.access == "owner" and who == "bob":
        return 404, "not_found"
    if case.access == "holder" and who == "bob":
        return 403, "forbidden"
    return case.ok, None


def _fill(body: Any, world: World) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, world) for k, v in body.items()}
    if isinstance(body, str) and "{w." in body:
        return body.format(w=world)
    return body


async def _world(kit: Any) -> World:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    bob = await kit.user()
    qpu = await kit.qpu(admin, "sim")
    r = await kit.client.post(
        "/api/op/drivers/create", json={"name": "drv", "qpu": "sim", "kind": "mock"}, headers=admin.headers
    )
    assert r.status_code == 201, r.text
    job_id = str((await kit.job(alice))["id"])
    done = str((await kit.job(alice))["id"])
    await kit.set_job(
        done, state="completed", results='{"success": true, "status": "COMPLETED", "results": []}', attempt=1
    )
    world = World(kit, admin, alice, bob, qpu, str(r.json()["id"]), job_id, done, "")
    world.token_id = await world.fresh_token()
    for who in ("alice", "bob", "admin"):
        world.sessions[who] = await kit.session(world.account(who))
    world.booking_id = await world.fresh_booking()
    world.request_id = await world.fresh_request()
    world.notice_id = await world.fresh_notice()
    return world


async def test_every_route_has_a_matrix_entry(sqlite_kit: Any) -> None:
    kit = sqlite_kit
    routes = app_routes(kit.server.app)
    assert routes - set(MATRIX) == set(), "routes without an authorization matrix entry"
    assert set(MATRIX) - routes == set(), "matrix entries for routes the app does not serve"


async def test_authorization_matrix(make_kit: Any) -> None:
    # the walk leaves some of alice's bookings and requests behind: no per-user caps here
    async with make_kit(booking_max_upcoming="0", time_request_max_pending="1000") as kit:
        await _walk(kit)


async def _walk(kit: Any) -> None:
    world = await _world(kit)
    failures = []
    for (method, _template), case in sorted(MATRIX.items(), key=lambda item: item[0][1]):
        for who in CALLERS:
            req = await case.prepare(world, who)
            headers = req.headers
            if headers is None:
                account = world.account(who)
                if account is None:
                    headers = {}
                elif case.access == "session":
                    headers = world.sessions[who].bearer
                else:
                    headers = account.headers
            status, code = expected(case, who)
            if case.stream:
                got_status, body = await kit.open_stream(req.path, headers)
                got_code = json.loads(body).get("error") if got_status >= 400 else None
                if got_status != status or (code is not None and got_code != code):
                    failures.append(f"{method} {req.path} as {who}: {got_status} {got_code}, expected {status} {code}")
                continue
            r = await kit.client.request(method, req.path, json=_fill(req.json, world), headers=headers)
            got_code = (
                r.json().get("error")
                if r.headers.get("content-type", "").startswith("application/json") and r.status_code >= 400
                else None
            )
            if r.status_code != status or (code is not None and got_code != code):
                failures.append(f"{method} {req.path} as {who}: {r.status_code} {got_code}, expected {status} {code}")
    assert failures == []


async def test_user_on_superuser_route_with_bad_body_gets_403(kit: Any) -> None:
    """Authorization answers before the body is looked at (no 400 to someone who may not call)."""
    alice = await kit.user()
    before = await kit.counts()
    r = await kit.client.post("/api/op/qpus/create", json={"name": ""}, headers=alice.headers)
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    r = await kit.client.post(
        "/api/admin/users", content=b"{not json", headers={**alice.headers, "content-type": "application/json"}
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert await kit.counts() == before


async def test_anonymous_with_bad_body_gets_401(kit: Any) -> None:
    """Check 1 (credentials) before check 6 (JSON shape) of api.md §3.3."""
    for path in ("/api/jobs", "/api/tokens", "/api/op/qpus/create"):
        r = await kit.client.post(path, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", (path, r.text)
        r = await kit.client.post(path, json={"unknown": 1})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", (path, r.text)
