"""``qpi bookings list|create|delete|release`` (``client-and-cli.md`` §3.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, fail, run
from qpi.cli.client.exitcodes import OK
from qpi.cli.client.formats import format_instant, parse_instant, parse_span
from qpi.errors import InvalidInputError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import Booking

__all__ = ["bookings_group"]


@click.group("bookings", help="Reserved QPU time.")
def bookings_group() -> None:
    pass


def _row(b: Booking) -> list[object]:
    who = b.booked_by.name or b.booked_by.email if b.booked_by else None
    return [
        b.id,
        b.qpu.name if b.qpu else "all QPUs",
        f"{who} (me)" if b.mine else who,
        format_instant(b.start_time),
        format_instant(b.end_time),
    ]


def _show(out: Out, b: Booking) -> None:
    if out.json:
        out.document(b.to_dict())
        return
    out.pairs(
        [
            ("id", b.id),
            ("qpu", b.qpu.name if b.qpu else "all QPUs"),
            ("start", format_instant(b.start_time)),
            ("end", format_instant(b.end_time)),
            ("note", b.note),
            ("released", format_instant(b.released_at) if b.released_at else None),
        ]
    )


@bookings_group.command("list", help="Bookings of everyone (to find a free slot).")
@click.option("--qpu", "qpu_filter", help="Only bookings of this QPU (all-QPU bookings included).")
@click.option("--mine", is_flag=True, help="Only my bookings.")
@click.option("--from", "start", help="Overlapping the window from this time (ISO 8601 or +1h).")
@click.option("--to", "end", help="Overlapping the window up to this time.")
@client_command()
def list_bookings(qpu_filter: str | None, mine: bool, start: str | None, end: str | None, inv: Invocation) -> None:
    out = inv.out()
    try:
        window = (parse_instant(start) if start else None, parse_instant(end) if end else None)
    except InvalidInputError as exc:
        fail(out, exc)

    async def body(client: AsyncClient, out: Out) -> int:
        bookings = await client.bookings.list(qpu=qpu_filter, mine=mine, start=window[0], end=window[1])
        if out.json:
            out.document([b.to_dict() for b in bookings])
        else:
            out.table(["ID", "QPU", "USER", "START", "END"], [_row(b) for b in bookings])
        return OK

    run(inv, body)


@bookings_group.command("create", help="Book a QPU: --qpu Q --start T (--end T | --duration 1h).")
@click.option("--qpu", "qpu_name", help="QPU name or id. [default: every bookable QPU]")
@click.option("--start", required=True, help="ISO 8601 time, or +10m from now.")
@click.option("--end", help="ISO 8601 time, or +1h from now.")
@click.option("--duration", help="Length instead of --end: 30m, 1h, 2h30m.")
@click.option("--note", help="A private note.")
@client_command()
def create(
    qpu_name: str | None, start: str, end: str | None, duration: str | None, note: str | None, inv: Invocation
) -> None:
    out = inv.out()
    try:
        if (end is None) == (duration is None):
            raise InvalidInputError("give exactly one of --end and --duration")
        begin = parse_instant(start)
        finish = parse_instant(end) if end is not None else begin + parse_span(duration or "")
    except InvalidInputError as exc:
        fail(out, exc)

    async def body(client: AsyncClient, out: Out) -> int:
        _show(out, await client.bookings.create(qpu_name, begin, finish, note=note))
        return OK

    run(inv, body)


@bookings_group.command("delete", help="Delete a booking that has not started.")
@click.argument("booking_id")
@client_command()
def delete(booking_id: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        await client.bookings.delete(booking_id)
        if out.json:
            out.document({"id": booking_id, "status": "deleted"})
        else:
            out.line(f"deleted booking {booking_id}")
        return OK

    run(inv, body)


@bookings_group.command("release", help="End my ongoing booking now and free the QPU.")
@click.argument("booking_id")
@client_command()
def release(booking_id: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        _show(out, await client.bookings.release(booking_id))
        return OK

    run(inv, body)
