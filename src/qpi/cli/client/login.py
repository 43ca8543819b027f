"""``qpi login``, ``qpi logout``, ``qpi whoami`` (``client-and-cli.md`` §3.6, ``config.md`` §6).

``login`` checks the token with ``GET /api/auth/me`` before anything is written (401 → exit 3,
file untouched); with ``--email`` it signs in, mints a token named ``qpi-cli@<host>`` and signs
out, storing only the token. ``--ca-fingerprint`` pins the server's CA: the certificate is
downloaded, its SHA-256 (DER) compared, and it is stored as ``ca/<profile>.pem`` beside the
config file. The file is written atomically, 0600 in a 0700 directory, other keys preserved.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import ssl
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, fail, open_client, report, run
from qpi.cli.client.exitcodes import OK, USAGE, TrustError
from qpi.cli.client.formats import format_seconds, parse_expires
from qpi.errors import ConfigError, InvalidInputError, QPIError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.settings import ClientSettings
    from qpi.config import ClientConfig

__all__ = ["check_fingerprint", "config_path", "login", "logout", "whoami"]

_HEX = re.compile(r"^[0-9a-f]{64}$")


def config_path(config: ClientConfig, env: dict[str, str] | os._Environ[str], cli_path: object) -> Path:
    """The client file ``login`` writes: ``--client-config``, ``QPI_CLIENT_CONFIG``, else the default."""
    if config.client_config is not None:
        return config.client_config
    named = cli_path or env.get("QPI_CLIENT_CONFIG", "").strip()
    return Path(str(named)).absolute() if named else config.config_dir / "config.toml"


def check_fingerprint(pem: bytes, expected: str) -> None:
    """The SHA-256 of the certificate's DER form must equal ``expected`` (hex, ``:`` allowed)."""
    wanted = expected.replace(":", "").strip().lower()
    if not _HEX.match(wanted):
        raise InvalidInputError("--ca-fingerprint must be 64 hex characters (colons allowed)")
    try:
        der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TrustError(f"the server's /api/pub/root-ca.pem is not a PEM certificate: {exc}") from exc
    actual = hashlib.sha256(der).hexdigest()
    if actual != wanted:
        raise TrustError(f"CA fingerprint mismatch: the server's CA is {actual}, expected {wanted}; nothing was stored")


def _write_private(path: Path, data: bytes) -> None:
    from qpi.config.client_file import atomic_write_private

    atomic_write_private(path, data.decode("ascii"))


def _token_from_user(inv: Invocation, token_stdin: bool) -> str:
    if token_stdin:
        token = sys.stdin.readline().strip()
        if not token:
            raise InvalidInputError("--token-stdin: standard input held no token")
        return token
    sources = inv.sources()
    config = inv.config(require_profile=False)
    if config.api_token and sources.get("api_token") in ("cli", "env:QPI_API_TOKEN"):
        return config.api_token
    if not sys.stdin.isatty():
        raise InvalidInputError("no token: give it with --token-stdin or QPI_API_TOKEN, or sign in with --email")
    token = str(click.prompt("API token", hide_input=True)).strip()
    if not token:
        raise InvalidInputError("no token given")
    return token


async def _pinned(settings: ClientSettings, fingerprint: str) -> tuple[bytes, ssl.SSLContext | None]:
    from qpi.client.aio import AsyncClient

    async with AsyncClient.from_settings(replace(settings, verify=False, token=None)) as anonymous:
        pem = await anonymous.root_ca()
    check_fingerprint(pem, fingerprint)
    context = None
    if settings.url.startswith("https://"):
        import httpx

        context = httpx.create_ssl_context()
        context.load_verify_locations(cadata=pem.decode("ascii"))
    return pem, context


@click.command("login", help="Check an API token (or sign in with --email) and store it in a profile.")
@click.option("--email", help="Sign in with e-mail and password; a token named qpi-cli@<host> is created.")
@click.option("--expires", default="90d", show_default=True, help="With --email: the token's lifetime (or never).")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.option("--ca-fingerprint", help="Pin the server's CA: SHA-256 of its DER form (64 hex, colons allowed).")
@client_command()
def login(email: str | None, expires: str, token_stdin: bool, ca_fingerprint: str | None, inv: Invocation) -> None:
    config = inv.config(require_profile=False)
    out = inv.out()
    path = config_path(config, os.environ, inv.cli_options.get("client_config"))
    try:
        expiry = parse_expires(expires)
        token = None if email else _token_from_user(inv, token_stdin)
        password = str(click.prompt("Password", hide_input=True)) if email else None
    except InvalidInputError as exc:
        fail(out, exc)
    except click.Abort:
        raise SystemExit(USAGE) from None
    from qpi.cli.client.common import lean_httpx
    from qpi.client.settings import settings_from_config

    lean_httpx()
    settings = settings_from_config(config, inv.sources())

    async def main() -> int:
        from qpi.client.aio import AsyncClient

        pem: bytes | None = None
        nonlocal settings
        if ca_fingerprint:
            pem, context = await _pinned(settings, ca_fingerprint)
            if context is not None:
                settings = replace(settings, verify=context)
        minted = token
        if email:
            async with AsyncClient.from_settings(replace(settings, token=None)) as anonymous:
                name = f"qpi-cli@{socket.gethostname()}"
                new = await anonymous.tokens.create_with_password(email, password or "", name=name, expires_at=expiry)
                minted = new.token
        async with AsyncClient.from_settings(replace(settings, token=minted)) as client:
            account = await client.me()
        values: dict[str, object] = {"addr": settings.url, "api_token": minted}
        if pem is not None:
            ca_path = path.parent / "ca" / f"{config.profile}.pem"
            _write_private(ca_path, pem)
            values["ca_file"] = str(ca_path)
        from qpi.config import save_profile

        save_profile(path, config.profile, values, make_current=True)
        if out.json:
            out.document(
                {"addr": settings.url, "email": account.email, "profile": config.profile, "config_file": str(path)}
            )
        else:
            out.line(f"Logged in to {settings.url} as {account.email} (profile {config.profile})")
        return OK

    try:
        code = asyncio.run(main())
    except (QPIError, OSError) as exc:
        if isinstance(exc, ConfigError):
            out.error(None, exc.code, exc.message)
            raise SystemExit(USAGE) from exc
        raise SystemExit(report(out, exc)) from exc
    raise SystemExit(code)


@click.command("logout", help="Remove the token from the profile (--revoke also deletes it on the server).")
@click.option("--revoke", is_flag=True, help="Delete the token on the server too.")
@client_command()
def logout(revoke: bool, inv: Invocation) -> None:
    config = inv.config()
    out = inv.out()
    path = config_path(config, os.environ, inv.cli_options.get("client_config"))

    def done(message: str, removed: bool, revoked: bool) -> None:
        if out.json:
            out.document({"profile": config.profile, "addr": config.addr, "removed": removed, "revoked": revoked})
        else:
            out.line(message)
        raise SystemExit(OK)

    if not config.api_token:
        done(f"not logged in (profile {config.profile})", False, False)

    async def main() -> None:
        async with open_client(config, inv.sources()) as client:
            account = await client.me()
            if account.token_id:
                await client.tokens.delete(account.token_id)

    if revoke:
        try:
            asyncio.run(main())
        except QPIError as exc:
            raise SystemExit(report(out, exc)) from exc
    revoked = " and revoked the token" if revoke else ""
    source = inv.sources().get("api_token", "")
    if not source.startswith("file:"):
        done(f"the token comes from {source}, not the profile; nothing removed{revoked}", False, revoke)
    from qpi.config import save_profile

    save_profile(path, config.profile, {"api_token": None})
    done(f"Logged out of {config.addr} (profile {config.profile}){revoked}", True, revoke)


@click.command("whoami", help="Who the token belongs to: e-mail, role, balance, server and profile.")
@client_command()
def whoami(inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        me = await client.me()
        if out.json:
            out.document({**me.to_dict(), "addr": client.url, "profile": client.profile})
            return OK
        balance = "unlimited" if me.unlimited else format_seconds(me.qpu_seconds)
        out.pairs(
            [
                ("email", me.email),
                ("name", me.name or None),
                ("role", me.role),
                ("balance", balance),
                ("server", client.url),
                ("profile", client.profile),
            ]
        )
        return OK

    run(inv, body)
