"""Users and balances, administered by superusers; the caller's ledger (``api.md`` §2.3)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, ConflictError, NotFoundError
from qpi.server.api.common import (
    SUPERUSER,
    USER,
    caller,
    check_query,
    ctx_of,
    page_headers,
    parse_after,
    parse_bool,
    parse_page,
    parse_sort,
    parse_ts,
    require_superuser,
    seconds,
    to_ms,
)
from qpi.server.api.dto import LedgerEntryOut, UserOut, errors, ledger_out, user_out
from qpi.server.auth.secrets import TOKEN_RE, hash_password, random_password, sha256_hex, token_prefix
from qpi.server.context import ServerContext
from qpi.server.store import UserRow

__all__ = ["ROUTES", "create_user"]

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=1e9)]


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    password: Password | None = None
    role: Literal["user", "superuser"] = "user"
    qpu_seconds: Seconds | None = None


class NewUserOut(msgspec.Struct, omit_defaults=True):
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
    initial_password: str | None = None


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    email: Email | None = None
    role: Literal["user", "superuser"] | None = None
    disabled: bool | None = None
    password: Password | None = None
    qpu_seconds: Seconds | None = None
    api_tokens: Annotated[list[str], msgspec.Meta(max_length=50)] | None = None


class BalanceIn(msgspec.Struct, forbid_unknown_fields=True):
    op: Literal["grant", "set", "refund"]
    seconds: float | None = None
    job: str | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class BalanceOut(msgspec.Struct):
    user_id: str
    qpu_seconds: float
    entry: LedgerEntryOut


async def create_user(
    ctx: ServerContext,
    *,
    email: str,
    name: str,
    password: str | None,
    role: str,
    qpu_seconds: float | None,
    actor: str | None,
) -> tuple[UserRow, str | None]:
    """Create an account (also used by ``qpi admin create-superuser`` and the local mode)."""
    generated = None
    if password is None:
        generated = password = random_password()
    balance = ctx.config.default_qpu_seconds if qpu_seconds is None else qpu_seconds
    user = await ctx.store.users.create(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        balance_ms=to_ms(balance),
        now=ctx.clock.now_us(),
        actor=actor,
    )
    return user, generated


async def _user(ctx: ServerContext, user_id: str) -> UserRow:
    user = await ctx.store.users.get(user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user


@get(
    "/api/admin/users",
    guards=SUPERUSER,
    operation_id="listUsers",
    tags=["admin"],
    summary="List users",
    responses=errors(400, 403),
)
async def list_users(request: Request[Any, Any, State]) -> Response[list[UserOut]]:
    require_superuser(request)
    ctx = ctx_of(request)
    check_query(request, {"q", "role", "disabled"})
    q = request.query_params
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("email", "name", "created", "qpu_seconds"), "email")
    role = q.get("role")
    if role is not None and role not in {"user", "superuser"}:
        raise BadRequestError("role must be user or superuser", field="role")
    rows, total = await ctx.store.users.list(
        q=q.get("q"),
        role=role,
        disabled=parse_bool(q.get("disabled"), "disabled"),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
    )
    return Response([user_out(u) for u in rows], headers=page_headers(request, page, total))


@post(
    "/api/admin/users",
    guards=SUPERUSER,
    operation_id="createUser",
    tags=["admin"],
    summary="Register a user",
    responses=errors(400, 403, 409),
)
async def add_user(request: Request[Any, Any, State], data: JSONBody[UserIn]) -> Response[NewUserOut]:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    user, generated = await create_user(
        ctx,
        email=data.email,
        name=data.name,
        password=data.password,
        role=data.role,
        qpu_seconds=data.qpu_seconds,
        actor=principal.id,
    )
    body = NewUserOut(**msgspec.structs.asdict(user_out(user)), initial_password=generated)
    return Response(body, status_code=201, headers={"Location": f"/api/admin/users/{user.id}"})


@get(
    "/api/admin/users/{user_id:str}",
    guards=SUPERUSER,
    operation_id="getUser",
    tags=["admin"],
    summary="One user",
    responses=errors(403, 404),
)
async def get_user(request: Request[Any, Any, State], user_id: FromPath[str]) -> UserOut:
    require_superuser(request)
    return user_out(await _user(ctx_of(request), user_id))


async def _guard_last_superuser(ctx: ServerContext, user: UserRow) -> None:
    if user.role == "superuser" and not user.disabled and await ctx.store.users.count_enabled_superusers() <= 1:
        raise ConflictError("this is the last enabled superuser; promote another one first", code="last_superuser")


@patch(
    "/api/admin/users/{user_id:str}",
    guards=SUPERUSER,
    operation_id="updateUser",
    tags=["admin"],
    summary="Update a user",
    responses=errors(400, 403, 404, 409),
)
async def update_user(request: Request[Any, Any, State], user_id: FromPath[str], data: JSONBody[UserPatch]) -> UserOut:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    user = await _user(ctx, user_id)
    now = ctx.clock.now_us()
    values: dict[str, Any] = {}
    for key in ("name", "email", "role", "disabled"):
        value = getattr(data, key)
        if value is not None:
            values[key] = value
    if data.password is not None:
        values["password_hash"] = hash_password(data.password)
    if (data.role == "user" or data.disabled is True) and user.role == "superuser":
        await _guard_last_superuser(ctx, user)
    if data.api_tokens:
        bad = [i for i, t in enumerate(data.api_tokens) if not TOKEN_RE.match(t) or not t.startswith("qpi_")]
        if bad:
            raise BadRequestError(
                "api_tokens must be qpi_ followed by 64 lowercase hex characters", field=f"api_tokens[{bad[0]}]"
            )
    if values:
        user = await ctx.store.users.update(user_id, values, now=now)
    if data.disabled:
        await ctx.store.credentials.delete_user_sessions(user_id)
    for raw in data.api_tokens or []:
        await ctx.store.credentials.create_token(
            user_id=user_id,
            name="admin-issued",
            token_hash=sha256_hex(raw),
            prefix=token_prefix(raw),
            expires_at=None,
            now=now,
            max_tokens=None,
        )
    if data.qpu_seconds is not None:
        async with ctx.store.db.transaction():
            await ctx.store.ledger.set_balance(
                user_id=user_id,
                target_ms=to_ms(data.qpu_seconds),
                now=now,
                actor=principal.id,
                reason="set by a superuser",
            )
        ctx.hub.wake()
    return user_out(await _user(ctx, user_id))


@delete(
    "/api/admin/users/{user_id:str}",
    guards=SUPERUSER,
    operation_id="deleteUser",
    tags=["admin"],
    summary="Delete a user",
    status_code=204,
    responses=errors(403, 404, 409),
)
async def delete_user(request: Request[Any, Any, State], user_id: FromPath[str]) -> None:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    user = await _user(ctx, user_id)
    if user.id == principal.id:
        raise ConflictError("you cannot delete your own account", code="cannot_delete_self")
    await _guard_last_superuser(ctx, user)
    if await ctx.store.jobs.active_count_for_owner(user_id):
        raise ConflictError("this user has pending or running jobs; cancel them first", code="user_has_active_jobs")
    await ctx.store.users.delete(user_id)


@post(
    "/api/admin/users/{user_id:str}/balance",
    guards=SUPERUSER,
    operation_id="changeBalance",
    tags=["admin"],
    summary="Grant, set or refund QPU seconds",
    status_code=200,
    responses=errors(400, 403, 404, 409),
)
async def change_balance(
    request: Request[Any, Any, State], user_id: FromPath[str], data: JSONBody[BalanceIn]
) -> BalanceOut:
    principal = require_superuser(request)
    ctx = ctx_of(request)
    await _user(ctx, user_id)
    now = ctx.clock.now_us()
    if data.op in {"grant", "set"}:
        if data.seconds is None:
            raise BadRequestError(f"seconds is required for op {data.op}", field="seconds")
        if data.job is not None:
            raise BadRequestError("job is only used with op refund", code="unknown_field", field="job")
        low_ok = data.seconds > 0 if data.op == "grant" else data.seconds >= 0
        if not low_ok or data.seconds > 1e9:
            bounds = "greater than 0 and at most 1e9" if data.op == "grant" else "between 0 and 1e9"
            raise BadRequestError(f"seconds must be {bounds}", field="seconds")
    elif data.job is None:
        raise BadRequestError("job is required for op refund", field="job")
    async with ctx.store.db.transaction():
        if data.op == "grant":
            entry = await ctx.store.ledger.apply(
                user_id=user_id,
                kind="grant",
                amount_ms=to_ms(data.seconds or 0),
                now=now,
                actor=principal.id,
                reason=data.reason,
            )
        elif data.op == "set":
            entry = await ctx.store.ledger.set_balance(
                user_id=user_id, target_ms=to_ms(data.seconds or 0), now=now, actor=principal.id, reason=data.reason
            )
        else:
            job = await ctx.store.jobs.get(data.job or "", full=False)
            if job is None or job.owner != user_id:
                raise NotFoundError(f"job {data.job} of this user not found")
            entry = await ctx.store.ledger.refund(
                user_id=user_id, job_id=job.id, now=now, actor=principal.id, reason=data.reason
            )
    ctx.hub.wake()
    return BalanceOut(user_id=user_id, qpu_seconds=seconds(entry.balance_after_ms) or 0.0, entry=ledger_out(entry))


@get(
    "/api/ledger",
    guards=USER,
    operation_id="listLedger",
    tags=["accounting"],
    summary="Ledger entries (own; all for superusers)",
    responses=errors(400),
)
async def list_ledger(request: Request[Any, Any, State]) -> Response[list[LedgerEntryOut]]:
    principal = caller(request)
    ctx = ctx_of(request)
    check_query(request, {"user", "kind", "job", "created_after", "created_before"})
    q = request.query_params
    user_id: str | None = principal.id
    if principal.is_superuser:
        user_id = q.get("user")
    elif q.get("user") not in (None, principal.id):
        raise BadRequestError("you can only read your own ledger", field="user")
    page = parse_page(request, aliases=False)
    sort = parse_sort(q.get("sort"), ("created",), "-created")
    after = parse_after(q["created_after"], "created_after") if "created_after" in q else None
    before = parse_ts(q["created_before"], "created_before") if "created_before" in q else None
    rows, total = await ctx.store.ledger.list(
        user_id=user_id,
        kind=q.get("kind"),
        job_id=q.get("job"),
        created_after=after,
        created_before=before,
        ascending=not sort[0][1],
        limit=page.limit,
        offset=page.offset,
    )
    return Response([ledger_out(r) for r in rows], headers=page_headers(request, page, total))


ROUTES = [list_users, add_user, get_user, update_user, delete_user, change_balance, list_ledger]
