"""The ``qpi`` entry point: one binary for the server, the driver and the client.

Subcommands are imported lazily, so ``qpi submit`` never imports the server (or qiskit).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from qpi import __version__

__all__ = ["cli", "main"]

# name → "module:attribute" of a click command or group, imported on first use
_COMMANDS: dict[str, str] = {
    "serve": "qpi.cli.serve:serve",
    "db": "qpi.cli.serve:db_group",
    "admin": "qpi.cli.admin:admin_group",
    "config": "qpi.cli.config_cmd:config_group",
    "driver": "qpi.cli.driver:driver_group",
    "login": "qpi.cli.client.login:login",
    "logout": "qpi.cli.client.login:logout",
    "whoami": "qpi.cli.client.login:whoami",
    "submit": "qpi.cli.client.submit:submit",
    "jobs": "qpi.cli.client.jobs:jobs_group",
    "qpus": "qpi.cli.client.qpus:qpus_group",
    "tokens": "qpi.cli.client.tokens:tokens_group",
    "bookings": "qpi.cli.client.bookings:bookings_group",
    "time": "qpi.cli.client.time_cmd:time_group",
    "version": "qpi.cli.client.version:version",
}
_HELP = {
    "serve": "Run the QPI server (API, dispatcher, driver links).",
    "db": "Database maintenance (migrations).",
    "admin": "Administration on the server host, and superuser commands.",
    "config": "Show the effective configuration and where each value comes from.",
    "driver": "Run a QPU driver beside the hardware or a simulator.",
    "login": "Store an API token (or sign in with --email) in a client profile.",
    "logout": "Remove the profile's token (--revoke: delete it on the server).",
    "whoami": "Show the account, balance, server and profile in use.",
    "submit": "Submit OpenQASM files as a job, wait and show the counts.",
    "jobs": "List, inspect, wait for and cancel jobs; read results.",
    "qpus": "List QPUs and show their device.",
    "tokens": "Create, list and delete API tokens.",
    "bookings": "List, create, delete and release QPU bookings.",
    "time": "Request more QPU seconds and follow the requests.",
    "version": "Print the client version (--server: the server's too).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qpi")
def cli() -> None:
    """QPI, the Quantum Processing Interface: share quantum computers between many users."""


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="qpi")
