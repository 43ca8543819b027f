"""``qpi serve`` and ``qpi db migrate``: parse → config → ``asyncio.run(command(config))``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import click

from qpi.cli.logs import setup_logging
from qpi.cli.options import config_options, exit_on_config_error, load_or_exit
from qpi.config import DB_COMMAND_KEYS, SERVE_OPTIONS
from qpi.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from qpi.config import ServeConfig
    from qpi.server.localmode import LocalSetup

__all__ = ["db_group", "migrate", "run_server", "serve"]

logger = logging.getLogger(__name__)


async def run_server(config: ServeConfig) -> None:
    """The whole server: store, TLS, supervised loops and uvicorn, until SIGTERM/SIGINT."""
    from qpi.server.runtime import Server

    async with Server(config) as server:
        logger.info(
            "QPI %s serving on http://%s:%d (public URL %s)",
            _version(),
            config.host,
            config.server_port,
            config.public_url,
        )
        if server.local is not None:
            _print_local(config, server.local)
        await server.serve()


def _print_local(config: ServeConfig, local: LocalSetup) -> None:
    """What a new user needs after ``qpi serve --local-qpu``: where, who, and the next command."""
    lines = [
        f"QPI is running with a local {local.kind} QPU named {local.qpu_name!r}.",
        f"  API:         {config.public_url}/api   (OpenAPI docs at {config.public_url}/schema)",
    ]
    if local.admin_password:
        lines.append(f"  Superuser:   admin@localhost / {local.admin_password}   (shown once)")
    if local.api_token:
        lines.append(f"  API token:   {local.api_token}   (shown once)")
        if local.profile_file:
            lines.append(f"               saved as client profile 'local' in {local.profile_file}")
    elif local.profile_file:
        lines.append(f"  API token:   in client profile 'local' of {local.profile_file}")
    lines.append("  Try:         qpi submit bell.qasm --profile local")
    click.echo("\n".join(lines), err=True)


def _version() -> str:
    from qpi import __version__

    return __version__


@click.command("serve", help="Run the QPI server: HTTP API, dispatcher, driver links and recovery.")
@config_options(SERVE_OPTIONS)
def serve(cli_options: dict[str, object]) -> None:
    config: ServeConfig = load_or_exit("serve", cli_options).config
    setup_logging(config.log_level, config.log_format)
    try:
        asyncio.run(run_server(config))
    except ConfigError as exc:
        exit_on_config_error(exc)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    except KeyboardInterrupt:
        pass


async def apply_migrations(config: ServeConfig) -> tuple[int, ...]:
    from qpi.server.runtime import table_names
    from qpi.server.store import Store

    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    async with Store.open(config.database_url, table_names(config), pool_size=2, auto_migrate=True) as store:
        status = await store.migration_status()
    return status.applied


@click.group("db", help="Database maintenance.")
def db_group() -> None:
    pass


@db_group.command("migrate", help="Apply pending migrations (needs no running server).")
@config_options(SERVE_OPTIONS, only=DB_COMMAND_KEYS)
def migrate(cli_options: dict[str, object]) -> None:
    config: ServeConfig = load_or_exit("serve", cli_options).config
    setup_logging(config.log_level, config.log_format)
    try:
        applied = asyncio.run(apply_migrations(config))
    except ConfigError as exc:
        exit_on_config_error(exc)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    click.echo(f"database is up to date (migrations {', '.join(str(v) for v in applied)})")
