"""``qpi config show [client|serve|driver] [--json] [options of that mode]`` (``config.md`` §7).

Prints every option of the mode with its effective value and source; secrets are shortened. It
runs the same checks as the real command (exit 2, one line per problem on stderr) and opens no
database, binds no port and contacts no server.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from qpi.cli.options import config_options, exit_on_config_error
from qpi.config import CLIENT_OPTIONS, DRIVER_OPTIONS, SERVE_OPTIONS, Loaded, Mode, OptionSpec, load_config
from qpi.config.show import show_document, shown_options
from qpi.errors import ConfigError

__all__ = ["config_group", "show"]

_JSON_META = "qpi.config_show.json"
_JSON_HELP = 'Print JSON: {"mode", "options": {key: {"value", "source"}}}.'

config_group = click.Group("config", help="Inspect the configuration of the client, the server or a driver.")


def _render(loaded: Loaded[Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(show_document(loaded), indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"qpi {loaded.mode} configuration", title_justify="left")
    table.add_column("option", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")
    for row in shown_options(loaded):
        table.add_row(row.key, row.text, row.source)
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    console.print(table)


def _show(mode: Mode, cli_options: dict[str, object], as_json: bool) -> None:
    try:
        loaded = load_config(mode, cli_options, os.environ)
    except ConfigError as exc:
        exit_on_config_error(exc)
    _render(loaded, as_json)


@config_group.group(
    "show",
    invoke_without_command=True,
    help="Print every option of a mode (client by default) with its effective value and source.",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@config_options(CLIENT_OPTIONS)
@click.pass_context
def show(ctx: click.Context, as_json: bool, cli_options: dict[str, object]) -> None:
    if ctx.invoked_subcommand is None:
        _show("client", cli_options, as_json)
        return
    if cli_options:
        raise click.UsageError(f"give the options after the mode: qpi config show {ctx.invoked_subcommand} …")
    ctx.meta[_JSON_META] = as_json


def _mode_command(mode: Mode, table: tuple[OptionSpec, ...]) -> click.Command:
    @click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
    @config_options(table)
    @click.pass_context
    def command(ctx: click.Context, as_json: bool, cli_options: dict[str, object]) -> None:
        _show(mode, cli_options, as_json or bool(ctx.meta.get(_JSON_META)))

    return click.command(mode, help=f"Show the {mode} configuration.")(command)


show.add_command(_mode_command("client", CLIENT_OPTIONS))
show.add_command(_mode_command("serve", SERVE_OPTIONS))
show.add_command(_mode_command("driver", DRIVER_OPTIONS))
