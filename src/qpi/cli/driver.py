"""``qpi driver start`` and ``qpi driver install-systemd``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qpi.cli.logs import setup_logging
from qpi.cli.options import config_options, load_or_exit
from qpi.config import DRIVER_OPTIONS

if TYPE_CHECKING:
    from qpi.config import DriverConfig

__all__ = ["driver_group", "run_driver"]


async def run_driver(config: DriverConfig) -> int:
    """The driver until SIGTERM/SIGINT (0), or a fatal error (1, 2 configuration, 3 trust)."""
    from qpi.driver.daemon import Driver

    parent = os.environ.get("QPI_LOCAL_SERVER_PID", "")  # set only by qpi serve --local-qpu
    return await Driver(config, parent_pid=int(parent) if parent.isdigit() else None).run()


@click.group("driver", help="Run a QPU driver beside the hardware or a simulator.")
def driver_group() -> None:
    pass


@driver_group.command("start", help="Connect to a QPI server and run its jobs on the chosen executor.")
@config_options(DRIVER_OPTIONS)
def start(cli_options: dict[str, object]) -> None:
    config: DriverConfig = load_or_exit("driver", cli_options).config
    setup_logging(config.log_level, config.log_format)
    try:
        code = asyncio.run(run_driver(config))
    except (KeyboardInterrupt, asyncio.CancelledError):
        code = 1
    raise SystemExit(code)


@driver_group.command("install-systemd", help="Write a systemd unit and a 0600 environment file for the token.")
@click.option("--unit-name", default="qpi-driver", show_default=True, help="Name of the unit (and env file).")
@click.option("--unit-dir", type=click.Path(path_type=Path), default=Path("/etc/systemd/system"), show_default=True)
@click.option("--env-dir", type=click.Path(path_type=Path), default=Path("/etc/qpi"), show_default=True)
@config_options(DRIVER_OPTIONS)
def install_systemd(unit_name: str, unit_dir: Path, env_dir: Path, cli_options: dict[str, object]) -> None:
    from qpi.driver.systemd import write_unit

    config: DriverConfig = load_or_exit("driver", cli_options).config
    try:
        unit, env = write_unit(config, name=unit_name, unit_dir=unit_dir, env_dir=env_dir)
    except OSError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from exc
    click.echo(f"wrote {unit} and {env} (mode 0600, holds the token)")
    click.echo(f"enable it with: systemctl daemon-reload && systemctl enable --now {unit_name}")
