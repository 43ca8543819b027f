"""The hardware (control instruments) config file: loading and validation.

The file is a ``QbloxHardwareCompilationConfig`` (``.json`` → JSON, else YAML; ``executors.md``
§3.3). ``config_type`` may name quantify-scheduler's or qblox-scheduler's class (or its short name);
the loader rewrites it for the backend in use instead of importing whatever the file names.
Validation is the backend's own pydantic model; its errors are reported with the field's path.
Only Qblox clusters are supported in ``hardware_description``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qpi.driver.executors.hardware.device_config import load_mapping
from qpi.errors import ConfigError

__all__ = [
    "MODULE_TYPES",
    "ClusterInfo",
    "clusters_of",
    "format_validation_error",
    "load_hardware_config",
    "prepare_hardware_config",
]

_CONFIG_CLASS = "QbloxHardwareCompilationConfig"
_ACCEPTED_CONFIG_TYPES = frozenset(
    {
        _CONFIG_CLASS,
        f"quantify_scheduler.backends.qblox_backend.{_CONFIG_CLASS}",
        f"qblox_scheduler.backends.qblox_backend.{_CONFIG_CLASS}",
    }
)

#: Module types a dummy cluster can hold (``ClusterType.CLUSTER_<TYPE>``).
MODULE_TYPES: tuple[str, ...] = ("QCM", "QRM", "QCM_RF", "QRM_RF", "QTM", "QDM", "QRC", "QSM")


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster of ``hardware_description``: its address and module types by slot."""

    name: str
    ip: str | None
    modules: Mapping[int, str]


def load_hardware_config(path: Path) -> dict[str, Any]:
    """Read the hardware config at ``path`` (JSON or YAML) as a plain mapping."""
    return load_mapping(path, what="hardware config")


def prepare_hardware_config(data: Mapping[str, Any], *, config_type: str, path: Path) -> dict[str, Any]:
    """A copy of ``data`` with ``config_type`` set for the backend (``config_type`` argument).

    A ``config_type`` that names anything but a Qblox hardware compilation config is refused.
    """
    given = data.get("config_type", _CONFIG_CLASS)
    if given not in _ACCEPTED_CONFIG_TYPES:
        raise ConfigError(
            f"hardware config {path}: config_type {given!r} is not supported; use "
            f"{_CONFIG_CLASS!r} (or its quantify-scheduler / qblox-scheduler import path)"
        )
    prepared = copy.deepcopy(dict(data))
    prepared["config_type"] = config_type
    return prepared


def validate_hardware_config(data: Mapping[str, Any], *, config_class: Any, config_type: str, path: Path) -> Any:
    """``data`` as the library's ``QbloxHardwareCompilationConfig`` (``config_class``), or a ConfigError."""
    from pydantic import ValidationError

    prepared = prepare_hardware_config(data, config_type=config_type, path=path)
    try:
        return config_class.model_validate(prepared)
    except ValidationError as exc:
        raise format_validation_error(exc, path=path) from exc


def _loc(parts: Sequence[int | str]) -> str:
    # Drop pydantic's union bookkeeping ("tagged-union[...]", "function-after[...]").
    kept = [str(p) for p in parts if not (isinstance(p, str) and "[" in p)]
    return ".".join(kept) or "(top level)"


def format_validation_error(exc: Any, *, path: Path, limit: int = 5) -> ConfigError:
    """A ConfigError naming each failing field of a pydantic ``ValidationError``."""
    errors = exc.errors() if hasattr(exc, "errors") else []
    lines = [f"{_loc(err.get('loc', ()))}: {err.get('msg', '')}" for err in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"… and {len(errors) - limit} more")
    if not lines:
        lines = [str(exc)]
    head = f"hardware config {path}: "
    return ConfigError(head + "; ".join(lines), problems=[head + line for line in lines])


def clusters_of(data: Mapping[str, Any], *, path: Path, is_dummy: bool) -> list[ClusterInfo]:
    """The clusters of a (validated) hardware config; ConfigError for anything but clusters.

    Off dummy mode every cluster needs an ``ip``.
    """
    description = data.get("hardware_description") or {}
    clusters: list[ClusterInfo] = []
    for name, instrument in description.items():
        kind = instrument.get("instrument_type") if isinstance(instrument, dict) else None
        if kind != "Cluster":
            raise ConfigError(
                f"hardware config {path}: hardware_description.{name}: only Qblox clusters are "
                f"supported (found instrument_type {kind!r})"
            )
        ip = instrument.get("ip")
        if not is_dummy and not ip:
            raise ConfigError(
                f"hardware config {path}: hardware_description.{name}.ip is required to reach a real "
                "cluster (or run with --is-dummy)"
            )
        modules: dict[int, str] = {}
        for slot, module in (instrument.get("modules") or {}).items():
            module_type = module.get("instrument_type") if isinstance(module, dict) else None
            if module_type not in MODULE_TYPES:
                raise ConfigError(
                    f"hardware config {path}: hardware_description.{name}.modules.{slot}.instrument_type "
                    f"must be one of {', '.join(MODULE_TYPES)}"
                )
            modules[int(slot)] = str(module_type)
        clusters.append(ClusterInfo(name=str(name), ip=str(ip) if ip else None, modules=modules))
    if not clusters:
        raise ConfigError(f"hardware config {path}: hardware_description declares no cluster")
    return clusters
