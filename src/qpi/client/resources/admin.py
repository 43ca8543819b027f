"""``client.admin``: superuser operations (``api.md`` §2.3–§2.5, §2.9–§2.11). A user gets 403."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar

from qpi.client.api import Api, quote, rfc3339
from qpi.client.errors import InvalidInputError, NotFoundError
from qpi.client.models import (
    QPU,
    BalanceChange,
    Driver,
    LedgerEntry,
    NewDriver,
    NewUser,
    Notification,
    Page,
    TelemetrySeries,
    TimeRequest,
    User,
    qpu_from_api,
)
from qpi.client.models._base import convert
from qpi.client.resources.account import notification, time_request

__all__ = [
    "AsyncAdmin",
    "AsyncAdminDrivers",
    "AsyncAdminNotifications",
    "AsyncAdminQPUs",
    "AsyncAdminTelemetry",
    "AsyncAdminTimeRequests",
    "AsyncAdminUsers",
]


def _ts_fields(fields: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = dict(fields)
    for key in keys:
        value = out.get(key)
        if isinstance(value, datetime | timedelta):
            out[key] = rfc3339(value)
    return out


class AsyncAdminQPUs:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def create(
        self,
        name: str,
        *,
        num_qubits: int | None = None,
        enabled: bool = True,
        description: str | None = None,
        with_driver: bool = False,
        executor_type: str | None = None,
    ) -> QPU:
        """Register a QPU. ``with_driver=True`` also registers its driver (the token is in ``to_dict()``)."""
        body: dict[str, Any] = {"name": name, "enabled": enabled, "with_driver": with_driver}
        if num_qubits is not None:
            body["num_qubits"] = num_qubits
        if description is not None:
            body["description"] = description
        if executor_type is not None:
            body["executor_type"] = executor_type
        return qpu_from_api(await self._api.post("/api/op/qpus/create", body))

    async def update(self, name_or_id: str, **fields: Any) -> QPU:
        """Change any of ``name``, ``description``, ``num_qubits``, ``enabled``, ``max_shots``,
        ``max_circuits``, ``job_timeout``, ``max_attempts``, ``on_driver_loss``, ``bookable``,
        ``max_concurrent``."""
        return qpu_from_api(await self._api.patch(f"/api/qpus/{quote(name_or_id)}", fields))

    async def _toggle(self, name_or_id: str, enabled: bool) -> QPU:
        await self._api.post("/api/op/qpu/toggle", {"name": name_or_id, "enabled": enabled})
        return qpu_from_api(await self._api.get(f"/api/qpus/{quote(name_or_id)}"))

    async def enable(self, name_or_id: str) -> QPU:
        return await self._toggle(name_or_id, True)

    async def disable(self, name_or_id: str) -> QPU:
        """Stop new dispatches at once; running jobs finish, pending ones wait."""
        return await self._toggle(name_or_id, False)

    async def delete(self, name_or_id: str, *, force: bool = False) -> None:
        """Delete; with active jobs the server refuses (409 ``qpu_in_use``) unless ``force``."""
        params = {"force": "true"} if force else None
        await self._api.delete(f"/api/qpus/{quote(name_or_id)}", params=params)


def _driver(raw: Any) -> Driver:
    return convert(Driver, raw)


class AsyncAdminDrivers:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def create(
        self, name: str, qpu: str, kind: str, *, events: list[str] | None = None, enabled: bool = True
    ) -> NewDriver:
        """Register a driver; the answer holds its one-time token and the ready start command."""
        body: dict[str, Any] = {"name": name, "qpu": qpu, "kind": kind, "enabled": enabled}
        if events is not None:
            body["events"] = events
        return convert(NewDriver, await self._api.post("/api/op/drivers/create", body))

    async def list(self, *, qpu: str | None = None) -> list[Driver]:
        params = {"qpu": qpu} if qpu else None
        return await self._api.all("/api/drivers", _driver, params=params, aliases=False)

    async def get(self, driver_id: str) -> Driver:
        return _driver(await self._api.get(f"/api/drivers/{quote(driver_id)}"))

    async def enable(self, driver_id: str) -> Driver:
        await self._api.post("/api/op/drivers/toggle", {"id": driver_id, "enabled": True})
        return await self.get(driver_id)

    async def disable(self, driver_id: str) -> Driver:
        await self._api.post("/api/op/drivers/toggle", {"id": driver_id, "enabled": False})
        return await self.get(driver_id)

    async def rotate_token(self, driver_id: str) -> NewDriver:
        """A new token for the driver; the old one stops working and its link closes."""
        rotated = await self._api.post(f"/api/drivers/{quote(driver_id)}/rotate-token")
        current = await self._api.get(f"/api/drivers/{quote(driver_id)}")
        merged = {**current, **{k: rotated.get(k) for k in ("token", "ca_fingerprint", "snippets")}}
        return convert(NewDriver, merged)

    async def delete(self, driver_id: str) -> None:
        await self._api.delete(f"/api/drivers/{quote(driver_id)}")


def _user(raw: Any) -> User:
    return convert(User, raw)


def _ledger(raw: Any) -> LedgerEntry:
    return convert(LedgerEntry, raw)


class AsyncAdminUsers:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(self, *, q: str | None = None, role: str | None = None) -> list[User]:
        params: dict[str, Any] = {}
        if q:
            params["q"] = q
        if role:
            params["role"] = role
        return await self._api.all("/api/admin/users", _user, params=params, aliases=False)

    async def find(self, email: str) -> User:
        """The user with this e-mail (compared case-insensitively)."""
        for user in await self.list(q=email):
            if user.email.lower() == email.lower():
                return user
        raise NotFoundError(f"no user with e-mail {email!r}", status=404)

    async def create(
        self,
        email: str,
        password: str | None = None,
        *,
        name: str | None = None,
        role: str = "user",
        qpu_seconds: float | None = None,
    ) -> NewUser:
        """Register a user; without ``password`` the server generates one (``initial_password``)."""
        body: dict[str, Any] = {"email": email, "role": role}
        if password is not None:
            body["password"] = password
        if name is not None:
            body["name"] = name
        if qpu_seconds is not None:
            body["qpu_seconds"] = qpu_seconds
        return convert(NewUser, await self._api.post("/api/admin/users", body))

    async def get(self, user_id: str) -> User:
        return _user(await self._api.get(f"/api/admin/users/{quote(user_id)}"))

    async def _balance(self, user_id: str, body: dict[str, Any]) -> BalanceChange:
        return convert(BalanceChange, await self._api.post(f"/api/admin/users/{quote(user_id)}/balance", body))

    async def grant(self, user_id: str, seconds: float, *, reason: str | None = None) -> BalanceChange:
        """Add ``seconds`` to the user's balance (a ``grant`` ledger entry)."""
        return await self._balance(user_id, {"op": "grant", "seconds": seconds, "reason": reason or ""})

    async def set_balance(self, user_id: str, seconds: float, *, reason: str | None = None) -> BalanceChange:
        """Replace the user's balance with ``seconds`` (a ``set`` entry stores the difference)."""
        return await self._balance(user_id, {"op": "set", "seconds": seconds, "reason": reason or ""})

    async def refund(self, user_id: str, job: str, *, reason: str | None = None) -> BalanceChange:
        """Credit back what ``job`` was charged."""
        return await self._balance(user_id, {"op": "refund", "job": job, "reason": reason or ""})

    async def ledger(self, user_id: str, limit: int = 50, offset: int = 0) -> Page[LedgerEntry]:
        params = {"user": user_id}
        return await self._api.page("/api/ledger", _ledger, params=params, limit=limit, offset=offset, aliases=False)

    async def disable(self, user_id: str) -> User:
        return _user(await self._api.patch(f"/api/admin/users/{quote(user_id)}", {"disabled": True}))

    async def enable(self, user_id: str) -> User:
        return _user(await self._api.patch(f"/api/admin/users/{quote(user_id)}", {"disabled": False}))


class AsyncAdminNotifications:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(self) -> list[Notification]:
        """Every notification, any window, with targets and dismissal counts."""
        return await self._api.all("/api/notifications", notification, params={"all": "true"}, aliases=False)

    async def create(
        self,
        title: str,
        description: str = "",
        *,
        severity: str = "info",
        target_users: Sequence[str] | None = None,
        start_time: datetime | timedelta | None = None,
        end_time: datetime | timedelta | None = None,
    ) -> Notification:
        """A notice; ``target_users`` (user ids) None or empty = everyone."""
        body: dict[str, Any] = {"title": title, "description": description, "severity": severity}
        if target_users:
            body["target_users"] = list(target_users)
        if start_time is not None:
            body["start_time"] = rfc3339(start_time)
        if end_time is not None:
            body["end_time"] = rfc3339(end_time)
        return notification(await self._api.post("/api/notifications", body))

    async def update(self, notification_id: str, **fields: Any) -> Notification:
        body = _ts_fields(fields, "start_time", "end_time")
        return notification(await self._api.patch(f"/api/notifications/{quote(notification_id)}", body))

    async def delete(self, notification_id: str) -> None:
        await self._api.delete(f"/api/notifications/{quote(notification_id)}")


class AsyncAdminTimeRequests:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(self, *, status: str | None = None) -> list[TimeRequest]:
        params = {"status": status} if status else None
        return await self._api.all("/api/time-requests", time_request, params=params, aliases=False)

    async def approve(self, request_id: str, *, note: str | None = None) -> TimeRequest:
        """Approve: the user is credited the requested seconds, exactly once."""
        body = {"note": note} if note else {}
        return time_request(await self._api.post(f"/api/time-requests/{quote(request_id)}/approve", body))

    async def reject(self, request_id: str, reason: str) -> TimeRequest:
        if not reason.strip():
            raise InvalidInputError("a rejection needs a reason")
        body = {"reason": reason}
        return time_request(await self._api.post(f"/api/time-requests/{quote(request_id)}/reject", body))


def _series(raw: Any) -> TelemetrySeries:
    return convert(TelemetrySeries, raw)


class AsyncAdminTelemetry:
    def __init__(self, api: Api) -> None:
        self._api = api

    async def query(
        self,
        *,
        since: datetime | timedelta,
        qpu: str | None = None,
        driver: str | None = None,
        channel: str | None = None,
        until: datetime | timedelta | None = None,
        max_points: int = 500,
    ) -> list[TelemetrySeries]:
        """Telemetry series over ``[since, until]``, each downsampled to ``max_points``."""
        params: dict[str, Any] = {"since": rfc3339(since), "max_points": max_points}
        for key, value in (("qpu", qpu), ("driver", driver), ("channel", channel)):
            if value:
                params[key] = value
        if until is not None:
            params["until"] = rfc3339(until)
        body = await self._api.get("/api/telemetry", params)
        return [_series(item) for item in body or []]


class AsyncAdmin:
    """Superuser namespaces: ``qpus``, ``drivers``, ``users``, ``notifications``, ``time_requests``,
    ``telemetry``, and :meth:`version`."""

    NAMESPACES: ClassVar[dict[str, type]] = {
        "qpus": AsyncAdminQPUs,
        "drivers": AsyncAdminDrivers,
        "users": AsyncAdminUsers,
        "notifications": AsyncAdminNotifications,
        "time_requests": AsyncAdminTimeRequests,
        "telemetry": AsyncAdminTelemetry,
    }

    def __init__(self, api: Api) -> None:
        self._api = api
        self.qpus = AsyncAdminQPUs(api)
        self.drivers = AsyncAdminDrivers(api)
        self.users = AsyncAdminUsers(api)
        self.notifications = AsyncAdminNotifications(api)
        self.time_requests = AsyncAdminTimeRequests(api)
        self.telemetry = AsyncAdminTelemetry(api)

    async def version(self) -> str:
        """The server's version (``GET /api/op/version``)."""
        body = await self._api.get("/api/op/version")
        return str(body.get("version", "")) if isinstance(body, dict) else ""
