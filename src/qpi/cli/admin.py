"""``qpi admin …``: ``create-superuser`` runs on the server host; the other subcommands are the
superuser's API commands of :mod:`qpi.cli.client.admin_client`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click

from qpi.cli.client.admin_client import ADMIN_COMMANDS
from qpi.cli.options import config_options, exit_on_config_error, load_or_exit
from qpi.config import DB_COMMAND_KEYS, SERVE_OPTIONS
from qpi.errors import APIError, ConfigError, StoreError

if TYPE_CHECKING:
    from qpi.config import ServeConfig

__all__ = ["admin_group", "create_superuser"]


@click.group(
    "admin",
    help="Administration: create-superuser runs on the server host, next to its database; "
    "the other commands are a superuser's, through the API.",
)
def admin_group() -> None:
    pass


for _command in ADMIN_COMMANDS:
    admin_group.add_command(_command)


async def make_superuser(config: ServeConfig, email: str, password: str | None, name: str) -> tuple[str, str | None]:
    from qpi.server.api.users import create_user
    from qpi.server.clock import SystemClock
    from qpi.server.context import ServerContext
    from qpi.server.runtime import table_names
    from qpi.server.store import Store

    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    async with Store.open(
        config.database_url, table_names(config), pool_size=2, auto_migrate=config.auto_migrate
    ) as store:
        ctx = ServerContext.build(config, store, SystemClock())
        user, generated = await create_user(
            ctx, email=email, name=name, password=password, role="superuser", qpu_seconds=0, actor=None
        )
    return user.id, generated


@admin_group.command("create-superuser", help="Create a superuser account in the server's database.")
@click.argument("email")
@click.option("--password", help="The password (8+ characters). Omitted: one is generated and printed once.")
@click.option("--name", default="", help="Display name.")
@config_options(SERVE_OPTIONS, only=DB_COMMAND_KEYS)
def create_superuser(email: str, password: str | None, name: str, cli_options: dict[str, object]) -> None:
    config: ServeConfig = load_or_exit("serve", cli_options).config
    if password is not None and not 8 <= len(password) <= 1024:
        click.echo("error: --password must be 8 to 1024 characters", err=True)
        raise SystemExit(2)
    if "@" not in email or not 3 <= len(email) <= 254:
        click.echo(f"error: {email!r} is not an e-mail address", err=True)
        raise SystemExit(2)
    try:
        user_id, generated = asyncio.run(make_superuser(config, email, password, name))
    except ConfigError as exc:
        exit_on_config_error(exc)
    except APIError as exc:
        click.echo(f"error: {exc.detail}", err=True)
        raise SystemExit(1) from exc
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    click.echo(f"created superuser {email} (id {user_id})")
    if generated:
        click.echo(f"password (shown once): {generated}")
