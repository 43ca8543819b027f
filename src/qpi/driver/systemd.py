"""``qpi driver install-systemd``: a unit file plus a 0600 environment file holding the token (P-7.3)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qpi.config import DriverConfig

__all__ = ["render_unit", "write_unit"]


def _args(config: DriverConfig) -> list[str]:
    args = [
        "driver",
        "start",
        "--qpi-addr",
        config.qpi_addr,
        "--ca-fingerprint",
        config.ca_fingerprint,
        "--ca-file",
        str(config.ca_file),
        "--name",
        config.name,
        "--executor",
        config.executor,
        "--data-dir",
        str(config.data_dir),
        "--workers",
        str(config.workers),
        "--shutdown-grace",
        f"{config.shutdown_grace:g}s",
        "--log-format",
        config.log_format,
        "--log-level",
        config.log_level,
    ]
    if config.executor in ("quantify", "qblox"):
        args += [
            "--quantify-device-config",
            str(config.quantify_device_config),
            "--quantify-hardware-config",
            str(config.quantify_hardware_config),
        ]
        if config.is_dummy:
            args.append("--is-dummy")
    if config.job_timeout:
        args += ["--job-timeout", f"{config.job_timeout:g}s"]
    for key, value in sorted(config.options.items()):
        args += ["--option", f"{key}={value}"]
    return args


def render_unit(config: DriverConfig, *, name: str, env_file: Path, qpi: str) -> str:
    """The unit: no secret in it; ``RestartPreventExitStatus=2 3`` (P-2.2)."""
    command = shlex.join([qpi, *_args(config)])
    return f"""[Unit]
Description=QPI driver {config.name}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
EnvironmentFile={env_file}
ExecStart={command}
WorkingDirectory={config.data_dir}
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=2 3
KillSignal=SIGTERM
TimeoutStopSec={int(config.shutdown_grace) + 30}

[Install]
WantedBy=multi-user.target
"""


def write_unit(config: DriverConfig, *, name: str, unit_dir: Path, env_dir: Path) -> tuple[Path, Path]:
    """Write ``<name>.service`` and ``<name>.env`` (mode 0600, created with that mode)."""
    qpi = shutil.which("qpi") or f"{sys.executable} -m qpi"
    env_dir.mkdir(parents=True, exist_ok=True)
    env_file = env_dir / f"{name}.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"QPI_ACCESS_TOKEN={config.token}\n")
    os.chmod(env_file, 0o600)  # an existing file keeps its mode on open: make sure
    unit_dir.mkdir(parents=True, exist_ok=True)
    unit = unit_dir / f"{name}.service"
    unit.write_text(render_unit(config, name=name, env_file=env_file, qpi=qpi))
    return unit, env_file
