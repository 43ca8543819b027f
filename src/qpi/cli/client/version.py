"""``qpi version [--server]``: the client's version; with ``--server``, a superuser also gets the
server's (``GET /api/op/version``), anyone else the server's health (``GET /api/health``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, run
from qpi.cli.client.exitcodes import OK, UNREACHABLE

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient

__all__ = ["version"]


@click.command("version", help="Print the client version (--server: the server's version or health too).")
@click.option("--server", "ask_server", is_flag=True, help="Also ask the server.")
@client_command()
def version(ask_server: bool, inv: Invocation) -> None:
    from qpi import __version__

    out = inv.out()
    if not ask_server:
        if out.json:
            out.document({"client": __version__})
        else:
            out.line(f"qpi {__version__}")
        raise SystemExit(OK)

    async def body(client: AsyncClient, out: Out) -> int:
        from qpi.client.errors import AuthenticationError, PermissionDeniedError

        doc: dict[str, object] = {"client": __version__, "addr": client.url}
        server_version = None
        if client.settings.token:
            try:
                server_version = await client.admin.version()
            except (AuthenticationError, PermissionDeniedError):
                server_version = None
        if server_version is not None:
            doc["server"] = server_version
        healthy = await client.health()
        doc["health"] = "ok" if healthy else "unreachable"
        if out.json:
            out.document(doc)
        else:
            out.line(f"qpi {__version__} (client)")
            if server_version is not None:
                out.line(f"server {server_version} at {client.url}")
            out.line(f"server health: {doc['health']} ({client.url})")
        return OK if healthy else UNREACHABLE

    run(inv, body, need_token=False)
