"""``qpi tokens create|list|delete`` (``client-and-cli.md`` §3.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, fail, run
from qpi.cli.client.exitcodes import OK, exit_code
from qpi.cli.client.formats import format_instant, parse_expires
from qpi.errors import InvalidInputError, QPIError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient

__all__ = ["tokens_group"]


@click.group("tokens", help="My API tokens.")
def tokens_group() -> None:
    pass


@tokens_group.command("create", help="Create an API token; the secret is printed once, alone on stdout.")
@click.option("--name", default="", help="A label for the token.")
@click.option("--expires", default="never", show_default=True, help="30d, an ISO 8601 date, or never.")
@client_command()
def create(name: str, expires: str, inv: Invocation) -> None:
    out = inv.out()
    try:
        expiry = parse_expires(expires)
    except InvalidInputError as exc:
        fail(out, exc)

    async def body(client: AsyncClient, out: Out) -> int:
        token = await client.tokens.create(name, expires_at=expiry)
        if out.json:
            out.document(token.to_dict())
        else:
            out.line(token.token)
        out.notice(f"token {token.prefix}… (id {token.id}) is shown once; store it now")
        return OK

    run(inv, body)


@tokens_group.command("list", help="My tokens (never their secrets).")
@client_command()
def list_tokens(inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        tokens = await client.tokens.list()
        if out.json:
            out.document([t.to_dict() for t in tokens])
            return OK
        rows = [
            [
                t.id,
                t.name or None,
                t.prefix + "…",
                format_instant(t.created),
                format_instant(t.last_used_at),
                format_instant(t.expires_at) if t.expires_at else "never",
            ]
            for t in tokens
        ]
        out.table(["ID", "NAME", "PREFIX", "CREATED", "LAST USED", "EXPIRES"], rows)
        return OK

    run(inv, body)


@tokens_group.command("delete", help="Delete tokens; they stop working at once.")
@click.argument("token_ids", nargs=-1, required=True)
@client_command()
def delete(token_ids: tuple[str, ...], inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        codes = []
        for token_id in token_ids:
            try:
                await client.tokens.delete(token_id)
            except QPIError as exc:
                codes.append(exit_code(exc))
                out.error(getattr(exc, "status_code", None), exc.code, exc.message)
                continue
            codes.append(OK)
            if not out.json:
                out.line(f"deleted {token_id}")
        if out.json:
            out.document({"deleted": [t for t, c in zip(token_ids, codes, strict=True) if c == OK]})
        return next((c for c in codes if c != OK), OK)

    run(inv, body)
