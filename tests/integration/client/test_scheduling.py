"""Bookings, time requests and notifications through the client (``api.md`` §2.8–§2.10)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qpi.client.errors import BadRequestError, ConflictError

from .conftest import World


@pytest.mark.anyio
async def test_bookings(world: World) -> None:
    async with world.client(world.user_token) as client:
        booking = await client.bookings.create(world.qpu, timedelta(hours=1), timedelta(hours=2), note="calibration")
        assert booking.mine and booking.qpu is not None and booking.qpu.name == world.qpu
        assert [b.id for b in await client.bookings.list(mine=True)] == [booking.id]
        with pytest.raises(ConflictError) as overlap:
            await client.bookings.create(world.qpu, timedelta(hours=1, minutes=30), timedelta(hours=3))
        assert overlap.value.code == "booking_overlap"
        with pytest.raises(BadRequestError) as past:
            await client.bookings.create(world.qpu, timedelta(hours=-2), timedelta(hours=-1))
        assert past.value.code == "booking_in_past"
        await client.bookings.delete(booking.id)
        assert await client.bookings.list(mine=True) == []


@pytest.mark.anyio
async def test_time_requests(world: World) -> None:
    async with world.client(world.user_token) as client:
        request = await client.time_requests.create(60, "thesis runs")
        assert (request.status, request.seconds) == ("pending", 60.0)
    async with world.client(world.admin_token) as admin:
        approved = await admin.admin.time_requests.approve(request.id, note="ok")
        assert approved.status == "approved"
    async with world.client(world.user_token) as client:
        assert (await client.me()).qpu_seconds == 160.0
        assert [r.status for r in await client.time_requests.list()] == ["approved"]


@pytest.mark.anyio
async def test_notifications(world: World) -> None:
    async with world.client(world.admin_token) as admin:
        notice = await admin.admin.notifications.create("Maintenance", "Friday 9-11", severity="warning")
    async with world.client(world.user_token) as client:
        assert [n.id for n in await client.notifications.list()] == [notice.id]
        await client.notifications.dismiss(notice.id)
        assert await client.notifications.list() == []
        assert await client.notifications.dismiss_all() == 0
