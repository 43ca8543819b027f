"""What a device config may contain: element types, parameters, defaults (``executors.md`` §3.3).

``element_type.path`` must be one of :data:`ELEMENT_TYPES` (short names or the exact quantify /
QPI import paths); nothing named in a file is ever imported. :data:`PARAMETERS` lists, per element
kind, the parameter groups and parameters both backends understand, with their types; numeric
strings are converted (PyYAML reads ``5e9`` as a string). :data:`DEFAULTS` says what a parameter
the file leaves out means.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "DEFAULTS",
    "EDGE_NAME",
    "ELEMENT_TYPES",
    "PARAMETERS",
    "QUBIT_NAME",
    "ElementKind",
    "ParamValue",
    "convert_value",
    "normalise_key",
]

ElementKind = Literal["transmon", "edge", "coupler"]
ParamValue = float | str | bool

_Q = "quantify_scheduler.device_under_test"
_QBLOX = "qpi.driver.executors.qblox.elements"
_QUANTIFY = "qpi.driver.executors.quantify.elements"

#: element_type.path → kind. Short names or these exact import paths; nothing else is accepted.
ELEMENT_TYPES: Mapping[str, ElementKind] = {
    "BasicTransmonElement": "transmon",
    "TransmonElement": "transmon",
    "quantify_scheduler.BasicTransmonElement": "transmon",
    f"{_Q}.BasicTransmonElement": "transmon",
    f"{_Q}.transmon_element.BasicTransmonElement": "transmon",
    f"{_QBLOX}.TransmonElement": "transmon",
    "CompositeSquareEdge": "edge",
    f"{_Q}.CompositeSquareEdge": "edge",
    f"{_Q}.composite_square_edge.CompositeSquareEdge": "edge",
    f"{_QBLOX}.CompositeSquareEdge": "edge",
    "FluxTunableCoupler": "coupler",
    f"{_QUANTIFY}.FluxTunableCoupler": "coupler",
    f"{_QBLOX}.FluxTunableCoupler": "coupler",
}

_TRANSMON: dict[str, dict[str, type]] = {
    "rxy": {"amp180": float, "motzoi": float, "duration": float},
    "clock_freqs": {"f01": float, "f12": float, "readout": float},
    "measure": {
        "pulse_amp": float,
        "pulse_duration": float,
        "acq_delay": float,
        "integration_time": float,
        "acq_threshold": float,
        "acq_rotation": float,
        "reset_clock_phase": bool,
    },
    "reset": {"duration": float},
    "ports": {"microwave": str, "flux": str, "readout": str},
}
# Edge phase corrections are spelled ``<parent>_phase_correction`` (quantify) or
# ``parent_phase_correction`` (qblox-scheduler); both are stored as ``parent_phase_correction``.
_EDGE: dict[str, dict[str, type]] = {
    "cz": {
        "square_amp": float,
        "square_duration": float,
        "parent_phase_correction": float,
        "child_phase_correction": float,
    }
}
_COUPLER: dict[str, dict[str, type]] = {**_EDGE, "clock_freqs": {"cz": float}}

#: Accepted parameters per element kind: submodule → parameter → type.
PARAMETERS: Mapping[ElementKind, Mapping[str, Mapping[str, type]]] = {
    "transmon": _TRANSMON,
    "edge": _EDGE,
    "coupler": _COUPLER,
}

#: What a parameter the file does not give means (the elements' own defaults).
DEFAULTS: Mapping[str, float] = {
    "rxy.duration": 20e-9,
    "measure.pulse_duration": 300e-9,
    "measure.acq_delay": 0.0,
    "measure.integration_time": 1e-6,
    "measure.acq_rotation": 0.0,
    "reset.duration": 200e-6,
    "cz.square_duration": 20e-9,
    "cz.square_amp": 0.5,
    "clock_freqs.cz": 0.0,
}

QUBIT_NAME = re.compile(r"^q(\d+)$")
EDGE_NAME = re.compile(r"^(q\d+)_(q\d+)$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def convert_value(value: Any, kind: type) -> ParamValue | None:
    """``value`` as ``kind`` (float, bool or str), or None when it cannot be one."""
    if kind is float:
        return _number(value)
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "on", "off"}:
            return value.strip().lower() in {"true", "yes", "on"}
        return None
    return value if isinstance(value, str) and value else None


def normalise_key(kind: ElementKind, name: str, submodule: str, key: str) -> str:
    """Edge phase corrections ``<parent>_…`` / ``<child>_…`` → ``parent_…`` / ``child_…``."""
    if kind != "transmon" and submodule == "cz":
        match = EDGE_NAME.match(name)
        if match is not None:
            if key == f"{match.group(1)}_phase_correction":
                return "parent_phase_correction"
            if key == f"{match.group(2)}_phase_correction":
                return "child_phase_correction"
    return key
