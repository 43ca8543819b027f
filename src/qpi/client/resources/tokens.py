"""``client.tokens``: the caller's API tokens (``api.md`` §2.7)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from qpi.client.api import Api, quote, rfc3339
from qpi.client.models import APIToken, NewAPIToken
from qpi.client.models._base import convert

__all__ = ["AsyncTokens"]


def _token(raw: Any) -> APIToken:
    return convert(APIToken, raw)


def _expiry(body: dict[str, Any], expires_at: datetime | timedelta | None) -> None:
    if isinstance(expires_at, timedelta):
        body["expires_in"] = expires_at.total_seconds()
    elif expires_at is not None:
        body["expires_at"] = rfc3339(expires_at)


class AsyncTokens:
    """Create, list, rename and delete API tokens. A new token's secret is returned once."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def create(self, name: str = "", *, expires_at: datetime | timedelta | None = None) -> NewAPIToken:
        """A new token; ``expires_at`` is an instant or a delay from now (None: never expires)."""
        body: dict[str, Any] = {"name": name}
        _expiry(body, expires_at)
        return convert(NewAPIToken, await self._api.post("/api/tokens", body))

    async def create_with_password(
        self, email: str, password: str, *, name: str = "", expires_at: datetime | timedelta | None = None
    ) -> NewAPIToken:
        """Sign in with e-mail and password, mint an API token, sign out; only the token remains.

        The password is sent once, to ``POST /api/auth/login``, and kept nowhere.
        """
        login = await self._api.post("/api/auth/login", {"email": email, "password": password, "mode": "token"})
        transport = self._api.transport
        previous = transport.token
        transport.set_token(str(login["session_token"]))
        try:
            body: dict[str, Any] = {"name": name}
            _expiry(body, expires_at)
            return convert(NewAPIToken, await self._api.post("/api/tokens", body))
        finally:
            try:
                await self._api.post("/api/auth/logout")
            finally:
                transport.set_token(previous)

    async def list(self) -> list[APIToken]:
        return await self._api.all("/api/tokens", _token)

    async def get(self, token_id: str) -> APIToken:
        return _token(await self._api.get(f"/api/tokens/{quote(token_id)}"))

    async def update(
        self,
        token_id: str,
        *,
        name: str | None = None,
        expires_at: datetime | timedelta | None = None,
        never_expires: bool = False,
    ) -> APIToken:
        """Rename, or change the expiry (``never_expires=True`` removes it)."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if never_expires:
            body["expires_at"] = None
        elif expires_at is not None:
            body["expires_at"] = rfc3339(expires_at)
        return _token(await self._api.patch(f"/api/tokens/{quote(token_id)}", body))

    async def delete(self, token_id: str) -> None:
        await self._api.delete(f"/api/tokens/{quote(token_id)}")
