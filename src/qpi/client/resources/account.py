"""Bookings, QPU time requests and notifications of the caller (``api.md`` §2.8–§2.10)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from qpi.client.api import Api, quote, rfc3339
from qpi.client.models import Booking, Notification, TimeRequest
from qpi.client.models._base import convert

__all__ = ["AsyncBookings", "AsyncNotifications", "AsyncTimeRequests", "booking", "notification", "time_request"]


def booking(raw: Any) -> Booking:
    return convert(Booking, raw)


def time_request(raw: Any) -> TimeRequest:
    return convert(TimeRequest, raw)


def notification(raw: Any) -> Notification:
    return convert(Notification, raw)


class AsyncBookings:
    """Reserved QPU time. Everyone sees every booking (to find a free slot); notes are private."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(
        self,
        *,
        qpu: str | None = None,
        mine: bool = False,
        start: datetime | timedelta | None = None,
        end: datetime | timedelta | None = None,
    ) -> list[Booking]:
        """Bookings overlapping ``[start, end)`` (all-QPU bookings included when ``qpu`` is given)."""
        params: dict[str, Any] = {}
        if qpu:
            params["qpu"] = qpu
        if mine:
            params["mine"] = "true"
        if start is not None:
            params["from"] = rfc3339(start)
        if end is not None:
            params["to"] = rfc3339(end)
        return await self._api.all("/api/bookings", booking, params=params, aliases=False)

    async def get(self, booking_id: str) -> Booking:
        return booking(await self._api.get(f"/api/bookings/{quote(booking_id)}"))

    async def create(
        self,
        qpu: str | None,
        start: datetime | timedelta,
        end: datetime | timedelta,
        *,
        note: str | None = None,
    ) -> Booking:
        """Book ``qpu`` (None: every bookable QPU) from ``start`` to ``end`` (instants or delays from now)."""
        body: dict[str, Any] = {"start_time": rfc3339(start), "end_time": rfc3339(end), "qpu": qpu}
        if note is not None:
            body["note"] = note
        return booking(await self._api.post("/api/bookings", body))

    async def update(
        self,
        booking_id: str,
        *,
        start: datetime | timedelta | None = None,
        end: datetime | timedelta | None = None,
        note: str | None = None,
    ) -> Booking:
        body: dict[str, Any] = {}
        if start is not None:
            body["start_time"] = rfc3339(start)
        if end is not None:
            body["end_time"] = rfc3339(end)
        if note is not None:
            body["note"] = note
        return booking(await self._api.patch(f"/api/bookings/{quote(booking_id)}", body))

    async def delete(self, booking_id: str) -> None:
        await self._api.delete(f"/api/bookings/{quote(booking_id)}")

    async def release(self, booking_id: str) -> Booking:
        """End my ongoing booking now and free the QPU."""
        return booking(await self._api.post(f"/api/bookings/{quote(booking_id)}/release"))


class AsyncTimeRequests:
    """Requests for more QPU seconds, decided by a superuser."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def create(self, seconds: float, reason: str) -> TimeRequest:
        body = {"seconds": seconds, "requested_reason": reason}
        return time_request(await self._api.post("/api/time-requests", body))

    async def list(self) -> list[TimeRequest]:
        """My requests, newest first, with their status and any rejection reason."""
        return await self._api.all("/api/time-requests", time_request, aliases=False)

    async def get(self, request_id: str) -> TimeRequest:
        return time_request(await self._api.get(f"/api/time-requests/{quote(request_id)}"))

    async def delete(self, request_id: str) -> None:
        """Withdraw a pending request."""
        await self._api.delete(f"/api/time-requests/{quote(request_id)}")


class AsyncNotifications:
    """Notices from the operators: those addressed to me, in their window, not dismissed."""

    def __init__(self, api: Api) -> None:
        self._api = api

    async def list(self, *, include_dismissed: bool = False) -> list[Notification]:
        params = {"include_dismissed": "true"} if include_dismissed else None
        return await self._api.all("/api/notifications", notification, params=params, aliases=False)

    async def dismiss(self, notification_id: str) -> None:
        await self._api.post(f"/api/notifications/{quote(notification_id)}/dismiss")

    async def dismiss_all(self) -> int:
        """Dismiss every visible notification; returns how many."""
        body = await self._api.post("/api/notifications/dismiss-all")
        return int(body.get("count", 0)) if isinstance(body, dict) else 0
