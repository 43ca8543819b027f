"""Options of the hardware executors and where their config files are found (``executors.md`` §3.3).

Both ``quantify`` and ``qblox`` take :class:`HardwareOptions`. Config paths are resolved with
:func:`qpi.driver.executors.base.resolve_path`, against the directory the driver was started in
(a worker runs in its own ``<data_dir>/workers/<n>/``); absolute paths are used as given.

When a config option is not given and its default file (``quantify.device.yml`` /
``quantify.hardware.json`` in the driver's start directory) does not exist, the shipped examples
are used, in dummy mode only, so ``qpi driver start --executor quantify --is-dummy`` works out of
the box. Anywhere else a missing file is a :class:`~qpi.errors.ConfigError` naming the path.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from qpi.driver.executors.base import CommonOptions, resolve_path
from qpi.errors import ConfigError

__all__ = [
    "DEFAULT_DEVICE_CONFIG",
    "DEFAULT_HARDWARE_CONFIG",
    "EXAMPLE_DEVICE_CONFIG",
    "EXAMPLE_HARDWARE_CONFIG",
    "HardwareOptions",
    "example_path",
    "parse_basis",
    "resolve_config_paths",
]

logger = logging.getLogger(__name__)

DEFAULT_DEVICE_CONFIG = "quantify.device.yml"
DEFAULT_HARDWARE_CONFIG = "quantify.hardware.json"
EXAMPLE_DEVICE_CONFIG = "quantify.device.example.yml"
EXAMPLE_HARDWARE_CONFIG = "quantify.hardware.example.json"

# Qiskit names the converter can take as native gates (``measure``, ``reset`` and ``delay`` are
# always added). Three-qubit gates are decomposed by the transpiler, never native.
BASIS_CHOICES: tuple[str, ...] = (
    "x",
    "y",
    "z",
    "h",
    "s",
    "sdg",
    "t",
    "tdg",
    "sx",
    "sxdg",
    "rx",
    "ry",
    "rz",
    "p",
    "u",
    "cx",
    "cz",
    "crz",
    "cp",
    "swap",
)


class HardwareOptions(CommonOptions, frozen=True, forbid_unknown_fields=True):
    """``-o`` options of the ``quantify`` and ``qblox`` executors (E-3.1, §3.3 table)."""

    quantify_device_config: str | None = None
    quantify_hardware_config: str | None = None
    is_dummy: bool = False
    # Seconds passed to wait_done / HardwareAgent.run; None: the job's timeout (DEFAULT_ACQ_TIMEOUT_S
    # when the executor runs outside a driver).
    acquisition_timeout: Annotated[float, msgspec.Meta(gt=0)] | None = None
    transpile: bool = True
    basis: str = "rz,sx,x,cz"
    layout_method: Literal["trivial", "dense", "sabre"] = "trivial"
    optimization_level: Annotated[int, msgspec.Meta(ge=0, le=3)] = 1
    seed_transpiler: int = 0
    max_shots: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    max_circuits: Annotated[int, msgspec.Meta(ge=1)] = 300
    workers: Annotated[int, msgspec.Meta(ge=1)] = 1


def parse_basis(value: str, *, executor: str) -> tuple[str, ...]:
    """The ``basis`` option as a tuple of Qiskit gate names, validated against the converter."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    implicit = {"measure", "reset", "delay", "barrier"}
    names = tuple(name for name in names if name not in implicit)
    unknown = [name for name in names if name not in BASIS_CHOICES]
    if not names or unknown:
        what = f"unsupported gate(s) {', '.join(unknown)}" if unknown else "no gate given"
        raise ConfigError(
            f"invalid option 'basis' for executor {executor!r}: {what}; "
            f"choose from {', '.join(BASIS_CHOICES)} (measure, reset and delay are always native)"
        )
    return names


def example_path(name: str) -> Path:
    """Path of a shipped example config (package data of ``qpi.driver.executors.examples``)."""
    return Path(str(resources.files("qpi.driver.executors.examples").joinpath(name)))


def _resolve_one(value: str | None, *, option: str, flag: str, default: str, example: str, is_dummy: bool) -> Path:
    if value is not None:
        path = resolve_path(value)
        if not path.is_file():
            raise ConfigError(f"{option}: file not found: {path}")
        return path
    path = resolve_path(default)
    if path.is_file():
        return path
    if is_dummy:
        shipped = example_path(example)
        logger.info("%s: %s does not exist; dummy mode uses the shipped example %s", option, path, shipped)
        return shipped
    raise ConfigError(
        f"{option}: file not found: {path} (give {flag} PATH; the shipped examples are used "
        "only in dummy mode, --is-dummy)"
    )


def resolve_config_paths(options: HardwareOptions) -> tuple[Path, Path]:
    """(device config, hardware config) paths for ``options``; ConfigError when one is missing."""
    device = _resolve_one(
        options.quantify_device_config,
        option="quantify_device_config",
        flag="--quantify-device-config",
        default=DEFAULT_DEVICE_CONFIG,
        example=EXAMPLE_DEVICE_CONFIG,
        is_dummy=options.is_dummy,
    )
    hardware = _resolve_one(
        options.quantify_hardware_config,
        option="quantify_hardware_config",
        flag="--quantify-hardware-config",
        default=DEFAULT_HARDWARE_CONFIG,
        example=EXAMPLE_HARDWARE_CONFIG,
        is_dummy=options.is_dummy,
    )
    return device, hardware
