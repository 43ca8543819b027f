"""Sign-in, sessions, CSRF, credential precedence and the caller's own account (api.md §1.3, §2.2)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio


def _cookies(r: Any) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the raw header, attributes included)."""
    out = {}
    for header in r.headers.get_list("set-cookie"):
        out[header.split("=", 1)[0]] = header
    return out


async def _login(kit: Any, email: str, password: str, **extra: Any) -> Any:
    r = await kit.client.post("/api/auth/login", json={"email": email, "password": password, **extra})
    kit.client.cookies.clear()  # each request below says which credential it sends
    return r


async def test_cookie_login_and_csrf(kit: Any) -> None:
    alice = await kit.user()
    r = await _login(kit, alice.email.upper(), alice.password)  # e-mail compared case-insensitively
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["id"] == alice.id and body["user"]["email"] == alice.email
    assert body["expires_at"].endswith("Z") and "session_token" not in body
    cookies = _cookies(r)
    session_cookie, csrf_cookie = cookies["qpi_session"], cookies["qpi_csrf"]
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower() and "Path=/" in session_cookie
    assert "HttpOnly" not in csrf_cookie and "samesite=strict" in csrf_cookie.lower()
    session = session_cookie.split(";")[0].split("=", 1)[1]
    csrf = csrf_cookie.split(";")[0].split("=", 1)[1]
    assert session.startswith("qps_") and csrf == body["csrf_token"]
    jar = {"Cookie": f"qpi_session={session}; qpi_csrf={csrf}"}
    # reads need no CSRF header; me shows the CSRF token of cookie sessions
    r = await kit.client.get("/api/auth/me", headers=jar)
    assert r.status_code == 200 and r.json()["auth"] == "session" and r.json()["csrf_token"] == csrf
    tokens_before = await kit.count(kit.t.api_tokens)
    # unsafe methods by cookie need X-CSRF-Token
    r = await kit.client.post("/api/tokens", json={"name": "c"}, headers=jar)
    kit.error(r, 403, "csrf_failed")
    r = await kit.client.post("/api/tokens", json={"name": "c"}, headers={**jar, "X-CSRF-Token": "wrong"})
    kit.error(r, 403, "csrf_failed")
    assert await kit.count(kit.t.api_tokens) == tokens_before
    ok = {**jar, "X-CSRF-Token": csrf}
    r = await kit.client.post("/api/tokens", json={"name": "c"}, headers=ok)
    assert r.status_code == 201, r.text
    # a foreign Origin is refused even with the right token; the server's own origin is fine
    r = await kit.client.post("/api/tokens", json={"name": "d"}, headers={**ok, "Origin": "https://evil.example"})
    kit.error(r, 403, "csrf_failed")
    own = kit.ctx.config.public_url.rstrip("/")
    r = await kit.client.post("/api/tokens", json={"name": "d"}, headers={**ok, "Origin": own})
    assert r.status_code == 201, r.text
    assert await kit.count(kit.t.api_tokens) == tokens_before + 2
    # header-authenticated requests are exempt
    r = await kit.client.post("/api/tokens", json={"name": "e"}, headers={"Authorization": f"Bearer {session}"})
    assert r.status_code == 201, r.text
    # logout by cookie (with CSRF) revokes the session and clears the cookies
    r = await kit.client.post("/api/auth/logout", headers=ok)
    assert r.status_code == 204
    cleared = _cookies(r)
    assert "Max-Age=0" in cleared["qpi_session"] or "max-age=0" in cleared["qpi_session"].lower()
    kit.client.cookies.clear()
    kit.error(await kit.client.get("/api/auth/me", headers=jar), 401, "invalid_token")
    assert await kit.count(kit.t.sessions) == 0


async def test_token_mode_login_and_logout(kit: Any) -> None:
    alice = await kit.user()
    r = await _login(kit, alice.email, alice.password, mode="token")
    assert r.status_code == 200
    assert "set-cookie" not in r.headers
    body = r.json()
    raw = body["session_token"]
    assert raw.startswith("qps_") and len(raw) == 68 and "csrf_token" not in body
    bearer = {"Authorization": f"Bearer {raw}"}
    r = await kit.client.get("/api/auth/me", headers=bearer)
    assert r.status_code == 200 and r.json()["auth"] == "session" and r.json()["id"] == alice.id
    assert r.json()["last_login_at"] is not None
    assert (await kit.client.post("/api/auth/logout", headers=bearer)).status_code == 204
    kit.error(await kit.client.get("/api/auth/me", headers=bearer), 401, "invalid_token")


async def test_login_failures(kit: Any) -> None:
    alice = await kit.user()
    r1 = await _login(kit, "nobody@example.org", "whatever-password")
    r2 = await _login(kit, alice.email, "wrong-password")
    b1 = kit.error(r1, 401, "invalid_credentials")
    b2 = kit.error(r2, 401, "invalid_credentials")
    assert b1 == b2  # the same answer: no account enumeration
    for body, code, field in (
        ({"email": "a", "password": "x"}, "invalid_request", "email"),
        ({"email": alice.email}, "invalid_request", "password"),
        ({"email": alice.email, "password": "x", "remember": True}, "unknown_field", "remember"),
        ({"email": alice.email, "password": "x", "mode": "jwt"}, "invalid_request", "mode"),
    ):
        r = await kit.client.post("/api/auth/login", json=body)
        kit.error(r, 400, code, field)
    # a disabled account: 401 for a wrong password, 403 only after the right one
    await kit.store.users.update(alice.id, {"disabled": True}, now=kit.ctx.clock.now_us())
    kit.error(await _login(kit, alice.email, "wrong-password"), 401, "invalid_credentials")
    kit.error(await _login(kit, alice.email, alice.password), 403, "account_disabled")
    assert await kit.count(kit.t.sessions) == 0


async def test_failed_logins_are_rate_limited(make_sqlite_kit: Any, clock: Any) -> None:
    async with make_sqlite_kit(clock=clock) as kit:
        alice = await kit.user()
        for _ in range(5):
            kit.error(await _login(kit, alice.email, "wrong-password"), 401, "invalid_credentials")
        r = await _login(kit, alice.email, alice.password)  # even the right password waits
        kit.error(r, 429, "too_many_attempts")
        assert int(r.headers["Retry-After"]) >= 1
        # keyed by e-mail and address: another account is not locked out
        bob = await kit.user()
        assert (await _login(kit, bob.email, bob.password)).status_code == 200
        clock.advance(60)
        assert (await _login(kit, alice.email, alice.password)).status_code == 200


async def test_password_auth_can_be_disabled(make_sqlite_kit: Any) -> None:
    async with make_sqlite_kit(disable_email_password_auth="true") as kit:
        alice = await kit.user()
        kit.error(await _login(kit, alice.email, alice.password), 403, "password_auth_disabled")
        r = await kit.client.get("/api/auth/methods")
        assert r.status_code == 200 and r.json() == {"password": False, "oauth2": []}
        # API tokens keep working
        assert (await kit.client.get("/api/auth/me", headers=alice.headers)).status_code == 200


async def test_present_but_invalid_credentials_give_401(kit: Any) -> None:
    """Never a fallback to anonymous, not even on public routes (api.md §1.3)."""
    alice = await kit.user()
    expired = await kit.user()
    await kit.execute(
        f"UPDATE {kit.t.api_tokens} SET expires_at = {{}} WHERE user_id = {{}}", kit.ctx.clock.now_us() - 1, expired.id
    )
    session = await kit.session(alice)
    stale = await kit.session(alice)
    await kit.execute(
        f"UPDATE {kit.t.sessions} SET expires_at = {{}} WHERE token_hash = {{}}",
        kit.ctx.clock.now_us() - 1,
        __import__("hashlib").sha256(stale.raw.encode()).hexdigest(),
    )
    cases = [
        ({"X-API-Token": "qpi_nothex"}, "invalid_token"),
        ({"X-API-Token": "qpi_" + "0" * 64}, "invalid_token"),
        ({"X-API-Token": session.raw}, "invalid_token"),  # a session is not an API token
        ({"Authorization": "Basic YWxpY2U6cHc="}, "invalid_token"),
        ({"Authorization": "Bearer"}, "invalid_token"),
        ({"Authorization": "Bearer qps_" + "1" * 64}, "invalid_token"),
        ({"Authorization": "Bearer qpi_" + "1" * 64}, "invalid_token"),
        ({"Cookie": "qpi_session=qps_" + "2" * 64}, "invalid_token"),
        ({"Cookie": "qpi_session=garbage"}, "invalid_token"),
        (expired.headers, "token_expired"),
        (stale.bearer, "token_expired"),
    ]
    for path in ("/api/qpus", "/api/auth/methods", "/api/auth/me"):
        for headers, code in cases:
            kit.error(await kit.client.get(path, headers=headers), 401, code)
    r = await kit.client.post("/api/auth/login", json={"email": "a@b.c", "password": "x"}, headers=cases[1][0])
    kit.error(r, 401, "invalid_token")
    # a deleted token stops working on the next request
    token_id = (await kit.client.get("/api/auth/me", headers=alice.headers)).json()["token_id"]
    assert (await kit.client.delete(f"/api/tokens/{token_id}", headers=alice.headers)).status_code == 200
    kit.error(await kit.client.get("/api/qpus", headers=alice.headers), 401, "invalid_token")


async def test_credential_precedence(kit: Any) -> None:
    alice = await kit.user()
    bob = await kit.user()
    bob_session = await kit.session(bob)
    alice_session = await kit.session(alice)
    cookie = {"Cookie": f"qpi_session={alice_session.raw}"}

    async def me(headers: dict[str, str]) -> Any:
        return await kit.client.get("/api/auth/me", headers=headers)

    assert (await me({**alice.headers, **bob_session.bearer})).json()["id"] == alice.id
    assert (await me({**bob_session.bearer, **cookie})).json()["id"] == bob.id
    assert (await me({"Authorization": f"Bearer {bob.token}", **cookie})).json()["id"] == bob.id
    # the stronger credential is invalid: 401, no fallback to the weaker valid one
    kit.error(await me({"X-API-Token": "qpi_" + "0" * 64, **bob_session.bearer}), 401, "invalid_token")
    kit.error(await me({"Authorization": "Bearer qps_" + "0" * 64, **cookie}), 401, "invalid_token")
    r = await me(alice.headers)
    assert r.json()["auth"] == "api_token" and r.json()["token_id"] and "csrf_token" not in r.json()
    r = await me(bob_session.bearer)
    assert r.json()["auth"] == "session" and "csrf_token" not in r.json()


async def test_update_own_account(kit: Any) -> None:
    alice = await kit.user()
    current = await kit.session(alice)
    other = await kit.session(alice)
    bearer = current.bearer
    r = await kit.client.patch("/api/auth/me", json={"name": "Alice A."}, headers=bearer)
    assert r.status_code == 200 and r.json()["name"] == "Alice A."
    assert (await kit.store.users.get(alice.id)).name == "Alice A."
    # API tokens cannot change the account
    r = await kit.client.patch("/api/auth/me", json={"name": "x"}, headers=alice.headers)
    assert r.status_code == 403
    # bad requests change nothing
    kit.error(
        await kit.client.patch("/api/auth/me", json={"new_password": "short"}, headers=bearer),
        400,
        "invalid_request",
        "new_password",
    )
    kit.error(
        await kit.client.patch("/api/auth/me", json={"new_password": "long-enough-1"}, headers=bearer),
        400,
        "invalid_request",
        "current_password",
    )
    kit.error(
        await kit.client.patch("/api/auth/me", json={"role": "superuser"}, headers=bearer), 400, "unknown_field", "role"
    )
    kit.error(
        await kit.client.patch("/api/auth/me", json={"qpu_seconds": 1e9}, headers=bearer),
        400,
        "unknown_field",
        "qpu_seconds",
    )
    r = await kit.client.patch(
        "/api/auth/me", json={"new_password": "long-enough-1", "current_password": "nope"}, headers=bearer
    )
    kit.error(r, 403, "wrong_password")
    assert (await kit.client.get("/api/auth/me", headers=other.bearer)).status_code == 200
    # a password change keeps this session and revokes the others
    r = await kit.client.patch(
        "/api/auth/me", json={"new_password": "long-enough-1", "current_password": alice.password}, headers=bearer
    )
    assert r.status_code == 200, r.text
    assert (await kit.client.get("/api/auth/me", headers=bearer)).status_code == 200
    kit.error(await kit.client.get("/api/auth/me", headers=other.bearer), 401, "invalid_token")
    kit.error(await _login(kit, alice.email, alice.password), 401, "invalid_credentials")
    assert (await _login(kit, alice.email, "long-enough-1")).status_code == 200
    assert (await kit.store.users.get(alice.id)).role == "user"


async def test_disabling_a_user_takes_effect_at_once(kit: Any) -> None:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    session = await kit.session(alice)
    assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200
    r = await kit.client.patch(f"/api/admin/users/{alice.id}", json={"disabled": True}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["disabled"] is True
    kit.error(await kit.client.get("/api/jobs", headers=alice.headers), 401, "invalid_token")
    kit.error(await kit.client.get("/api/jobs", headers=session.bearer), 401, "invalid_token")
    assert await kit.count(kit.t.sessions, "user_id = {}", alice.id) == 0
    # re-enabled: the token works again (sessions stay revoked)
    r = await kit.client.patch(f"/api/admin/users/{alice.id}", json={"disabled": False}, headers=admin.headers)
    assert r.status_code == 200
    assert (await kit.client.get("/api/jobs", headers=alice.headers)).status_code == 200


async def test_proxies_cors_and_secure_cookies(make_sqlite_kit: Any, clock: Any) -> None:
    """Client addresses come from X-Forwarded-For only behind a trusted proxy (api.md §1.8); CORS and
    cross-origin cookie requests only for --cors-origins; cookies are Secure with an https public URL."""
    app_origin = "https://app.example.org"
    async with make_sqlite_kit(
        clock=clock, trusted_proxies="127.0.0.1/32", cors_origins=app_origin, public_url="https://qpi.example.org"
    ) as kit:
        alice = await kit.user()
        for _ in range(5):
            r = await kit.client.post(
                "/api/auth/login",
                json={"email": alice.email, "password": "wrong-password"},
                headers={"X-Forwarded-For": "10.0.0.1"},
            )
            kit.error(r, 401, "invalid_credentials")
        good = {"email": alice.email, "password": alice.password}
        r = await kit.client.post("/api/auth/login", json=good, headers={"X-Forwarded-For": "10.0.0.1"})
        kit.error(r, 429, "too_many_attempts")
        r = await kit.client.post("/api/auth/login", json=good, headers={"X-Forwarded-For": "10.0.0.2, 127.0.0.1"})
        assert r.status_code == 200, r.text
        kit.client.cookies.clear()
        cookies = _cookies(r)
        assert "Secure" in cookies["qpi_session"] and "Secure" in cookies["qpi_csrf"]
        session, csrf = r.cookies["qpi_session"], r.json()["csrf_token"]
        rows = await kit.rows(f"SELECT ip FROM {kit.t.sessions} WHERE user_id = {{}}", alice.id)
        assert rows == [{"ip": "10.0.0.2"}]
        # CORS for the configured origin only
        preflight = {"Origin": app_origin, "Access-Control-Request-Method": "POST"}
        r = await kit.client.options("/api/jobs", headers=preflight)
        assert r.headers.get("access-control-allow-origin") == app_origin
        r = await kit.client.options("/api/jobs", headers={**preflight, "Origin": "https://evil.example"})
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"
        # a cookie request from the configured origin passes the Origin check
        jar = {"Cookie": f"qpi_session={session}", "X-CSRF-Token": csrf}
        r = await kit.client.post("/api/tokens", json={"name": "x"}, headers={**jar, "Origin": app_origin})
        assert r.status_code == 201, r.text
        r = await kit.client.post("/api/tokens", json={"name": "x"}, headers={**jar, "Origin": "https://evil.example"})
        kit.error(r, 403, "csrf_failed")


async def test_forwarded_for_is_ignored_without_a_trusted_proxy(make_sqlite_kit: Any, clock: Any) -> None:
    async with make_sqlite_kit(clock=clock) as kit:
        alice = await kit.user()
        for i in range(5):
            r = await kit.client.post(
                "/api/auth/login",
                json={"email": alice.email, "password": "wrong-password"},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
            )
            kit.error(r, 401, "invalid_credentials")
        r = await kit.client.post(
            "/api/auth/login",
            json={"email": alice.email, "password": alice.password},
            headers={"X-Forwarded-For": "10.9.9.9"},
        )
        kit.error(r, 429, "too_many_attempts")


async def test_a_dead_session_cookie_is_dropped(kit: Any) -> None:
    """401 for the dead cookie (no fallback), with the cookie cleared so the browser can sign in again."""
    alice = await kit.user()
    stale = {"Cookie": "qpi_session=qps_" + "3" * 64}
    r = await kit.client.post("/api/auth/login", json={"email": alice.email, "password": alice.password}, headers=stale)
    kit.error(r, 401, "invalid_token")
    cleared = _cookies(r)["qpi_session"]
    assert cleared.startswith("qpi_session=;") and "max-age=0" in cleared.lower()
    kit.client.cookies.clear()
    r = await _login(kit, alice.email, alice.password)
    assert r.status_code == 200
    # a bad header credential leaves cookies alone
    r = await kit.client.get("/api/auth/me", headers={"X-API-Token": "qpi_" + "0" * 64, **stale})
    kit.error(r, 401, "invalid_token")
    assert "set-cookie" not in r.headers
