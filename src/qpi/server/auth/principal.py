"""Who is calling: API token, session bearer or session cookie (``api.md`` §1.3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qpi.errors import AuthenticationError
from qpi.server.auth.secrets import TOKEN_RE, sha256_hex
from qpi.server.clock import Clock
from qpi.server.store import Store, UserRow

__all__ = ["Authenticator", "Principal"]

_TOUCH_EVERY_US = 60 * 1_000_000  # last_used_at / last_seen written at most once a minute


@dataclass(frozen=True)
class Principal:
    user: UserRow
    auth: Literal["session", "api_token"]
    via_cookie: bool = False
    session_id: str | None = None
    token_id: str | None = None
    csrf_token: str | None = None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def is_superuser(self) -> bool:
        return self.user.role == "superuser"


class Authenticator:
    def __init__(self, store: Store, clock: Clock, *, session_ttl_s: float) -> None:
        self.store = store
        self.clock = clock
        self.session_ttl_us = int(session_ttl_s * 1_000_000)

    async def authenticate(
        self, *, api_token: str | None, authorization: str | None, cookie: str | None
    ) -> Principal | None:
        """Resolve the credential; precedence ``X-API-Token`` > ``Authorization`` > cookie.

        A credential that is present but invalid raises 401: the server never falls back to a
        weaker one. ``None`` means no credential at all.
        """
        if api_token:
            return await self._api_token(api_token.strip())
        if authorization:
            scheme, _, value = authorization.partition(" ")
            value = value.strip()
            if scheme.lower() != "bearer" or not value:
                raise AuthenticationError("the Authorization header must be 'Bearer <token>'", code="invalid_token")
            if value.startswith("qps_"):
                return await self._session(value, via_cookie=False)
            return await self._api_token(value)
        if cookie:
            return await self._session(cookie, via_cookie=True)
        return None

    async def still_valid(self, principal: Principal) -> bool:
        """Is the credential behind ``principal`` still usable (long-lived streams re-check it)?"""
        now = self.clock.now_us()
        user = await self.store.users.get(principal.id)
        if user is None or user.disabled:
            return False
        if principal.token_id is not None:
            token = await self.store.credentials.get_token(principal.token_id)
            return token is not None and (token.expires_at is None or token.expires_at > now)
        if principal.session_id is not None:
            expires = await self.store.credentials.session_expires_at(principal.session_id)
            return expires is not None and expires > now
        return False

    async def _api_token(self, raw: str) -> Principal:
        if not TOKEN_RE.match(raw) or not raw.startswith("qpi_"):
            raise AuthenticationError("the API token is malformed or unknown", code="invalid_token")
        found = await self.store.credentials.token_by_hash(sha256_hex(raw))
        if found is None:
            raise AuthenticationError("the API token is malformed or unknown", code="invalid_token")
        token, user = found
        now = self.clock.now_us()
        if token.expires_at is not None and token.expires_at <= now:
            raise AuthenticationError("the API token has expired", code="token_expired")
        if user.disabled:
            raise AuthenticationError("this account is disabled", code="invalid_token")
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY_US:
            await self.store.credentials.touch_token(token.id, now)
        return Principal(user=user, auth="api_token", token_id=token.id)

    async def _session(self, raw: str, *, via_cookie: bool) -> Principal:
        if not TOKEN_RE.match(raw) or not raw.startswith("qps_"):
            raise AuthenticationError("the session is malformed or unknown; sign in again", code="invalid_token")
        found = await self.store.credentials.session_by_hash(sha256_hex(raw))
        if found is None:
            raise AuthenticationError("the session is unknown or was signed out; sign in again", code="invalid_token")
        session, user = found
        now = self.clock.now_us()
        if session.expires_at <= now:
            raise AuthenticationError("the session has expired; sign in again", code="token_expired")
        if user.disabled:
            raise AuthenticationError("this account is disabled", code="invalid_token")
        if now - session.last_seen > _TOUCH_EVERY_US:
            expires = min(now + self.session_ttl_us, session.max_expires_at)
            await self.store.credentials.touch_session(session.id, expires_at=expires, now=now)
        return Principal(
            user=user, auth="session", via_cookie=via_cookie, session_id=session.id, csrf_token=session.csrf_token
        )
