"""Sign-in, sign-out and the caller's own account (``api.md`` §2.2)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody

from qpi.errors import (
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    RateLimitedError,
)
from qpi.server.api.common import USER, caller, ctx_of, fmt_ts
from qpi.server.api.dto import UserOut, errors, user_out
from qpi.server.auth.secrets import (
    hash_password,
    new_csrf_token,
    new_session_token,
    sha256_hex,
    verify_password,
)

__all__ = ["ROUTES"]

_MAX_SESSION_US = 30 * 24 * 3600 * 1_000_000

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    mode: Literal["cookie", "token"] = "cookie"


class LoginOut(msgspec.Struct, omit_defaults=True):
    user: UserOut
    expires_at: str | None
    csrf_token: str | None = None
    session_token: str | None = None


class MeOut(msgspec.Struct, omit_defaults=True):
    id: str
    email: str
    name: str
    role: str
    disabled: bool
    qpu_seconds: float
    unlimited: bool
    created: str | None
    updated: str | None
    last_login_at: str | None
    auth: str
    csrf_token: str | None = None
    token_id: str | None = None


class MePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    new_password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)] | None = None
    current_password: Annotated[str, msgspec.Meta(max_length=1024)] | None = None


class AuthMethods(msgspec.Struct):
    password: bool
    oauth2: list[dict[str, str]]


@post(
    "/api/auth/login",
    operation_id="login",
    tags=["auth"],
    summary="Sign in with e-mail and password",
    status_code=200,
    responses=errors(400, 403),
)
async def login(request: Request[Any, Any, State], data: JSONBody[LoginIn]) -> Response[LoginOut]:
    ctx = ctx_of(request)
    if ctx.config.disable_email_password_auth:
        raise PermissionDeniedError(
            "e-mail/password sign-in is turned off on this server", code="password_auth_disabled"
        )
    # the address QpiMiddleware resolved (X-Forwarded-For only from --trusted-proxies, api.md §1.8)
    ip = str(request.scope.get("state", {}).get("client_ip") or (request.scope.get("client") or ("?", 0))[0])
    key = f"{data.email.lower()}|{ip}"
    wait = ctx.limits.login.peek(key)
    if wait > 0:
        raise RateLimitedError(
            "too many failed sign-in attempts; wait before trying again", code="too_many_attempts", retry_after=wait
        )
    user = await ctx.store.users.get_by_email(data.email)
    if not verify_password(user.password_hash if user else None, data.password) or user is None:
        ctx.limits.login.take(key)
        raise AuthenticationError("wrong e-mail or password", code="invalid_credentials")
    if user.disabled:
        raise PermissionDeniedError("this account is disabled", code="account_disabled")
    now = ctx.clock.now_us()
    raw = new_session_token()
    csrf = new_csrf_token()
    ttl_us = int(ctx.config.session_ttl * 1_000_000)
    max_expires = now + _MAX_SESSION_US
    expires = min(now + ttl_us, max_expires)
    await ctx.store.credentials.create_session(
        user_id=user.id,
        token_hash=sha256_hex(raw),
        csrf_token=csrf,
        expires_at=expires,
        max_expires_at=max_expires,
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent", ""),
    )
    await ctx.store.users.record_login(user.id, now)
    user = await ctx.store.users.get(user.id) or user
    if data.mode == "token":
        return Response(LoginOut(user=user_out(user), expires_at=fmt_ts(expires), session_token=raw))
    secure = ctx.config.public_url.startswith("https")
    max_age = int(ctx.config.session_ttl)
    cookies = [
        Cookie(key="qpi_session", value=raw, httponly=True, samesite="lax", path="/", secure=secure, max_age=max_age),
        Cookie(key="qpi_csrf", value=csrf, httponly=False, samesite="strict", path="/", secure=secure, max_age=max_age),
    ]
    return Response(LoginOut(user=user_out(user), expires_at=fmt_ts(expires), csrf_token=csrf), cookies=cookies)


@post(
    "/api/auth/logout",
    guards=USER,
    operation_id="logout",
    tags=["auth"],
    summary="Revoke the current session",
    status_code=204,
    responses=errors(),
)
async def logout(request: Request[Any, Any, State]) -> Response[None]:
    principal = caller(request)
    if principal.session_id is None:
        raise BadRequestError("logout ends a session; API tokens are deleted with DELETE /api/tokens/{id}")
    await ctx_of(request).store.credentials.delete_session(principal.session_id)
    cookies = [
        Cookie(key="qpi_session", value="", path="/", max_age=0, expires=0),
        Cookie(key="qpi_csrf", value="", path="/", max_age=0, expires=0),
    ]
    return Response(None, status_code=204, cookies=cookies)


def _me(request: Request[Any, Any, State]) -> MeOut:
    principal = caller(request)
    base = msgspec.structs.asdict(user_out(principal.user))
    return MeOut(
        **base,
        auth=principal.auth,
        csrf_token=principal.csrf_token if principal.via_cookie else None,
        token_id=principal.token_id,
    )


@get(
    "/api/auth/me", guards=USER, operation_id="getMe", tags=["auth"], summary="The caller's account", responses=errors()
)
async def me(request: Request[Any, Any, State]) -> MeOut:
    return _me(request)


@patch(
    "/api/auth/me",
    guards=USER,
    operation_id="updateMe",
    tags=["auth"],
    summary="Change own name or password",
    responses=errors(400, 403),
)
async def update_me(request: Request[Any, Any, State], data: JSONBody[MePatch]) -> UserOut:
    ctx = ctx_of(request)
    principal = caller(request)
    if principal.auth != "session":
        raise PermissionDeniedError("changing your account needs a signed-in session, not an API token")
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name
    if data.new_password is not None:
        full = await ctx.store.users.get(principal.id)
        if data.current_password is None:
            raise BadRequestError("current_password is required to set a new password", field="current_password")
        if full is None or not verify_password(full.password_hash, data.current_password):
            raise PermissionDeniedError("the current password is wrong", code="wrong_password")
        values["password_hash"] = hash_password(data.new_password)
    if not values:
        return user_out(principal.user)
    user = await ctx.store.users.update(principal.id, values, now=ctx.clock.now_us())
    if "password_hash" in values:
        await ctx.store.credentials.delete_user_sessions(principal.id, keep=principal.session_id)
    return user_out(user)


@get("/api/auth/methods", operation_id="getAuthMethods", tags=["auth"], summary="Available sign-in methods")
async def methods(request: Request[Any, Any, State]) -> AuthMethods:
    ctx = ctx_of(request)
    return AuthMethods(password=not ctx.config.disable_email_password_auth, oauth2=[])


ROUTES = [login, logout, me, update_me, methods]
