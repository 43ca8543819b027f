"""``AsyncClient``: the asyncio client of the QPI API, and its resource namespaces.

::

    async with AsyncClient() as client:            # url, token, … from arguments, env or profile
        job = await client.jobs.submit("bell.qasm", shots=1000)
        result = await client.jobs.result(job)     # waits (event stream, else polling)
        print(result.counts())

Configuration is resolved once, here, at construction (``client-and-cli.md`` §1.1); the
connection pool opens on the first request. A closed client refuses every call.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import httpx

from qpi.client.api import Api
from qpi.client.errors import TransportError
from qpi.client.models import Account, Event, LedgerEntry, Page
from qpi.client.models._base import convert
from qpi.client.resources.account import AsyncBookings, AsyncNotifications, AsyncTimeRequests
from qpi.client.resources.admin import AsyncAdmin
from qpi.client.resources.jobs import AsyncJobs
from qpi.client.resources.qpus import AsyncQPUs
from qpi.client.resources.tokens import AsyncTokens
from qpi.client.settings import ClientSettings, Verify, resolve_settings
from qpi.client.stream import read_stream
from qpi.client.transport import Transport

__all__ = ["AsyncClient"]


def _ledger(raw: Any) -> LedgerEntry:
    return convert(LedgerEntry, raw)


class AsyncClient:
    """The QPI API over one ``httpx.AsyncClient``.

    Namespaces: ``jobs``, ``qpus``, ``tokens``, ``bookings``, ``time_requests``,
    ``notifications``, ``admin`` (itself with ``qpus``, ``drivers``, ``users``,
    ``notifications``, ``time_requests``, ``telemetry``).
    """

    #: namespace attribute → class; :mod:`qpi.client.sync` walks this to build ``Client``
    NAMESPACES: ClassVar[dict[str, type]] = {
        "jobs": AsyncJobs,
        "qpus": AsyncQPUs,
        "tokens": AsyncTokens,
        "bookings": AsyncBookings,
        "time_requests": AsyncTimeRequests,
        "notifications": AsyncNotifications,
        "admin": AsyncAdmin,
    }

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        retries: int = 3,
        verify: Verify | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = resolve_settings(
            url=url,
            token=token,
            profile=profile,
            timeout=timeout,
            verify=verify,
            env=os.environ,
            cwd=Path.cwd(),
        )
        self._setup(settings, retries, transport)

    @classmethod
    def from_settings(
        cls, settings: ClientSettings, *, retries: int = 3, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncClient:
        """A client over settings resolved elsewhere (the CLI resolves them once, with its flags)."""
        client = cls.__new__(cls)
        client._setup(settings, retries, transport)
        return client

    def _setup(self, settings: ClientSettings, retries: int, transport: httpx.AsyncBaseTransport | None) -> None:
        self._settings = settings
        self._transport = Transport(settings, retries=retries, transport=transport)
        api = Api(self._transport)
        self._api = api
        self.jobs = AsyncJobs(api)
        self.qpus = AsyncQPUs(api)
        self.tokens = AsyncTokens(api)
        self.bookings = AsyncBookings(api)
        self.time_requests = AsyncTimeRequests(api)
        self.notifications = AsyncNotifications(api)
        self.admin = AsyncAdmin(api)

    @property
    def url(self) -> str:
        return self._settings.url

    @property
    def profile(self) -> str:
        return self._settings.profile

    @property
    def settings(self) -> ClientSettings:
        """The resolved configuration (the token is not in its ``repr``)."""
        return self._settings

    @property
    def session_token(self) -> str | None:
        """The ``qps_…`` session token while signed in with :meth:`sign_in`, else None."""
        token = self._transport.token
        return token if token is not None and token.startswith("qps_") else None

    @property
    def closed(self) -> bool:
        return self._transport.closed

    def __repr__(self) -> str:
        hint = self._settings.token_hint
        return f"{type(self).__name__}(url={self.url!r}, profile={self.profile!r}, token={hint!r})"

    async def __aenter__(self) -> AsyncClient:
        self._transport.check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool; every later call raises ``QPIError("client is closed")``."""
        await self._transport.aclose()

    async def me(self) -> Account:
        """The caller's account (``GET /api/auth/me``): e-mail, role, balance."""
        return convert(Account, await self._api.get("/api/auth/me"))

    async def sign_in(self, email: str, password: str) -> Account:
        """Sign in with e-mail and password; this client then uses the session (not an API token).

        The password is sent once and kept nowhere. End the session with :meth:`sign_out`.
        """
        login = await self._api.post("/api/auth/login", {"email": email, "password": password, "mode": "token"})
        self._transport.set_token(str(login["session_token"]))
        return await self.me()

    async def sign_out(self) -> None:
        """End the session opened by :meth:`sign_in` and go back to the configured token."""
        token = self._transport.token
        if token is None or not token.startswith("qps_"):
            return
        try:
            await self._api.post("/api/auth/logout")
        finally:
            self._transport.set_token(self._settings.token)

    async def ledger(self, limit: int = 50, offset: int = 0) -> Page[LedgerEntry]:
        """My balance history, newest first."""
        return await self._api.page("/api/ledger", _ledger, limit=limit, offset=offset, aliases=False)

    async def health(self) -> bool:
        """True when the server answers ``GET /api/health`` with ``ok``; False when unreachable."""
        try:
            body = await self._api.get("/api/health")
        except TransportError:
            return False
        return isinstance(body, dict) and body.get("status") == "ok"

    async def root_ca(self) -> bytes:
        """The server's root CA certificate (PEM), as ``GET /api/pub/root-ca.pem`` serves it.

        Check its fingerprint before trusting it (``qpi login --ca-fingerprint`` does).
        """
        response = await self._transport.request("GET", "/api/pub/root-ca.pem")
        return response.content

    async def stream(
        self, types: Sequence[str] | None = None, *, last_event_id: int | None = None
    ) -> AsyncGenerator[Event, None]:
        """My live events (jobs, notifications, bookings, QPU status; admins: everything).

        ``types`` filters (``job.*`` matches a prefix). Dropped streams resume from the last id;
        a ``stream.reset`` event means events were lost: reload the state you show.
        """
        params = {"type": ",".join(types)} if types else {}
        async with aclosing(read_stream(self._transport, params, last_event_id=last_event_id)) as events:
            async for event in events:
                yield event
