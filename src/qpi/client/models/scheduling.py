"""Bookings, QPU time requests and notifications (``api.md`` §2.8–§2.10)."""

from __future__ import annotations

from datetime import datetime

from qpi.client.models._base import Model

__all__ = ["Booking", "Notification", "QpuRef", "TimeRequest", "UserRef"]


class QpuRef(Model, frozen=True, kw_only=True):
    id: str | None = None
    name: str = ""


class UserRef(Model, frozen=True, kw_only=True):
    id: str | None = None
    name: str = ""
    email: str | None = None


class Booking(Model, frozen=True, kw_only=True):
    """A reserved window; ``qpu`` None reserves every bookable QPU."""

    id: str
    qpu: QpuRef | None = None
    booked_by: UserRef | None = None
    start_time: datetime
    end_time: datetime
    note: str | None = None
    mine: bool = False
    released_at: datetime | None = None
    created: datetime | None = None


class TimeRequest(Model, frozen=True, kw_only=True):
    id: str
    user: UserRef | None = None
    seconds: float
    requested_reason: str = ""
    status: str
    rejection_reason: str | None = None
    admin_note: str | None = None
    created: datetime | None = None
    handled_at: datetime | None = None
    handled_by: UserRef | None = None


class Notification(Model, frozen=True, kw_only=True):
    id: str
    title: str
    description: str = ""
    severity: str = "info"
    broadcast: bool | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    dismissed: bool | None = None
    created: datetime | None = None
    # superusers only
    target_users: list[str] | None = None
    dismissed_count: int | None = None
