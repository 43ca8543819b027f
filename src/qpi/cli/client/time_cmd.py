"""``qpi time request|list``: asking for more QPU seconds (``client-and-cli.md`` §3.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, run
from qpi.cli.client.exitcodes import OK
from qpi.cli.client.formats import format_instant, format_seconds

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import TimeRequest

__all__ = ["time_group"]


@click.group("time", help="Request more QPU seconds, and follow the requests.")
def time_group() -> None:
    pass


def _show(out: Out, r: TimeRequest) -> None:
    out.pairs(
        [
            ("id", r.id),
            ("seconds", format_seconds(r.seconds)),
            ("status", r.status),
            ("reason", r.requested_reason),
            ("rejection reason", r.rejection_reason),
            ("created", format_instant(r.created)),
        ]
    )


@time_group.command("request", help="Ask a superuser for SECONDS more QPU seconds.")
@click.argument("seconds", type=click.FloatRange(min=0.001, max=1e9))
@click.option("--reason", required=True, help="Why you need them.")
@client_command()
def request(seconds: float, reason: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        r = await client.time_requests.create(seconds, reason)
        if out.json:
            out.document(r.to_dict())
        else:
            _show(out, r)
        return OK

    run(inv, body)


@time_group.command("list", help="My requests with their status and rejection reason.")
@client_command()
def list_requests(inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        requests = await client.time_requests.list()
        if out.json:
            out.document([r.to_dict() for r in requests])
            return OK
        rows = [
            [
                r.id,
                format_seconds(r.seconds),
                r.status,
                r.requested_reason,
                r.rejection_reason,
                format_instant(r.created),
            ]
            for r in requests
        ]
        out.table(["ID", "SECONDS", "STATUS", "REASON", "REJECTION", "CREATED"], rows)
        return OK

    run(inv, body)
