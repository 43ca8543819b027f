"""API tokens (``api.md`` §2.7): ``qpi_`` + 64 hex, shown once, stored as SHA-256."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.api.common import (
    USER,
    caller,
    check_query,
    ctx_of,
    page_headers,
    parse_page,
    parse_sort,
    parse_ts,
)
from qpi.server.api.dto import TokenOut, errors, token_out
from qpi.server.auth.principal import Principal
from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix
from qpi.server.store import TokenRow

__all__ = ["ROUTES"]


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    expires_at: str | None = None
    expires_in: Annotated[float, msgspec.Meta(gt=0)] | None = None


class TokenPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    expires_at: str | msgspec.UnsetType | None = msgspec.UNSET


class NewTokenOut(msgspec.Struct):
    id: str
    name: str
    prefix: str
    created: str | None
    expires_at: str | None
    last_used_at: str | None
    token: str


class Deleted(msgspec.Struct):
    status: str


async def _own_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> tuple[Principal, TokenRow]:
    principal = caller(request)
    token = await ctx_of(request).store.credentials.get_token(token_id)
    if token is None or (token.user_id != principal.id and not principal.is_superuser):
        raise NotFoundError(f"token {token_id} not found")
    return principal, token


def _expiry(expires_at: str | None, now: int) -> int | None:
    if expires_at is None:
        return None
    value = parse_ts(expires_at, "expires_at")
    if value <= now:
        raise BadRequestError("expires_at must be in the future", code="invalid_expiry", field="expires_at")
    return value


@post(
    "/api/tokens",
    guards=USER,
    operation_id="createApiToken",
    tags=["tokens"],
    summary="Create an API token (shown once)",
    responses=errors(400, 409),
)
async def create_token(request: Request[Any, Any, State], data: JSONBody[TokenIn]) -> Response[NewTokenOut]:
    ctx = ctx_of(request)
    principal = caller(request)
    now = ctx.clock.now_us()
    if data.expires_at is not None and data.expires_in is not None:
        raise BadRequestError("give expires_at or expires_in, not both", code="invalid_expiry", field="expires_in")
    expires = _expiry(data.expires_at, now)
    if data.expires_in is not None:
        expires = now + int(data.expires_in * 1_000_000)
    raw = new_api_token()
    row = await ctx.store.credentials.create_token(
        user_id=principal.id,
        name=data.name,
        token_hash=sha256_hex(raw),
        prefix=token_prefix(raw),
        expires_at=expires,
        now=now,
        max_tokens=ctx.config.max_tokens_per_user or None,
    )
    body = NewTokenOut(**msgspec.structs.asdict(token_out(row)), token=raw)
    return Response(body, status_code=201, headers={"Location": f"/api/tokens/{row.id}"})


@get(
    "/api/tokens",
    guards=USER,
    operation_id="listApiTokens",
    tags=["tokens"],
    summary="List own API tokens",
    responses=errors(400),
)
async def list_tokens(request: Request[Any, Any, State]) -> Response[list[TokenOut]]:
    ctx = ctx_of(request)
    principal = caller(request)
    check_query(request, {"user"})
    user_id = principal.id
    if "user" in request.query_params:
        if not principal.is_superuser:
            raise BadRequestError("only superusers may list another user's tokens", field="user")
        user_id = request.query_params["user"]
    page = parse_page(request, aliases=True)
    sort = parse_sort(request.query_params.get("sort"), ("created", "name"), "-created")
    order = ", ".join(f"{name} {'DESC' if desc else 'ASC'}" for name, desc in sort)
    rows, total = await ctx.store.credentials.list_tokens(
        user_id=user_id, order=order, limit=page.limit, offset=page.offset
    )
    return Response([token_out(r) for r in rows], headers=page_headers(request, page, total))


@get(
    "/api/tokens/{token_id:str}",
    guards=USER,
    operation_id="getApiToken",
    tags=["tokens"],
    summary="One API token",
    responses=errors(404),
)
async def get_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> TokenOut:
    _, token = await _own_token(request, token_id)
    return token_out(token)


@patch(
    "/api/tokens/{token_id:str}",
    guards=USER,
    operation_id="updateApiToken",
    tags=["tokens"],
    summary="Rename a token or change its expiry",
    responses=errors(400, 404),
)
async def update_token(
    request: Request[Any, Any, State], token_id: FromPath[str], data: JSONBody[TokenPatch]
) -> TokenOut:
    ctx = ctx_of(request)
    _, token = await _own_token(request, token_id)
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name
    if data.expires_at is not msgspec.UNSET:
        values["expires_at"] = _expiry(data.expires_at, ctx.clock.now_us())
    if values:
        await ctx.store.credentials.update_token(token.id, values)
    updated = await ctx.store.credentials.get_token(token.id)
    assert updated is not None
    return token_out(updated)


@delete(
    "/api/tokens/{token_id:str}",
    guards=USER,
    operation_id="deleteApiToken",
    tags=["tokens"],
    summary="Delete a token",
    status_code=200,
    responses=errors(404),
)
async def delete_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> Deleted:
    _, token = await _own_token(request, token_id)
    await ctx_of(request).store.credentials.delete_token(token.id)
    return Deleted(status="deleted")


ROUTES = [create_token, list_tokens, get_token, update_token, delete_token]
