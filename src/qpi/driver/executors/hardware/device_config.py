"""The device (chip) config file: loading, validation and the typed :class:`DeviceSpec`.

Format (YAML via ``yaml.safe_load``, or JSON for ``.json``; ``executors.md`` §3.3): top-level keys
are element names, qubits ``q0, q1, …`` and edges ``<parent>_<child>``. Each entry has
``element_type: {path, args, kwargs}`` and nested parameter mappings (``rxy.amp180``,
``measure.acq_threshold``, ``cz.square_duration``, …). Numeric strings are converted (PyYAML
reads ``5e9`` as a string). ``path`` must be on an allowlist (:data:`ELEMENT_TYPES`); nothing is
ever imported from the file. Unknown paths, elements or parameters are a
:class:`~qpi.errors.ConfigError` naming the element and the key.

The spec keeps only the values the file gives (``ElementSpec.params``); each backend applies them
onto its own elements. What may appear in the file, and what a missing value means, is in
:mod:`~qpi.driver.executors.hardware.device_schema`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from qpi.driver.executors.hardware.device_schema import (
    DEFAULTS,
    EDGE_NAME,
    ELEMENT_TYPES,
    PARAMETERS,
    QUBIT_NAME,
    ElementKind,
    ParamValue,
    convert_value,
    normalise_key,
)
from qpi.errors import ConfigError

__all__ = [
    "DeviceSpec",
    "EdgeSpec",
    "ElementSpec",
    "QubitSpec",
    "load_device_config",
    "load_mapping",
    "parse_device_config",
]


@dataclass(frozen=True)
class ElementSpec:
    """One element of the device file: its name, kind and the parameters the file sets."""

    name: str
    kind: ElementKind
    path: str
    params: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)

    def get(self, key: str) -> ParamValue | None:
        """The value of ``"<submodule>.<parameter>"`` given in the file, else None."""
        submodule, _, parameter = key.partition(".")
        return self.params.get(submodule, {}).get(parameter)

    def number(self, key: str) -> float:
        """A numeric parameter, or its default (:data:`DEFAULTS`, NaN when there is none)."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return DEFAULTS.get(key, math.nan)
        return float(value)


@dataclass(frozen=True)
class QubitSpec(ElementSpec):
    index: int = 0

    @property
    def readout_duration(self) -> float:
        """``acq_delay + integration_time`` (seconds)."""
        return self.number("measure.acq_delay") + self.number("measure.integration_time")

    @property
    def measure_duration(self) -> float:
        """How long a Measure occupies the qubit: the longer of the pulse and the acquisition."""
        return max(self.number("measure.pulse_duration"), self.readout_duration)


@dataclass(frozen=True)
class EdgeSpec(ElementSpec):
    parent: str = ""
    child: str = ""


@dataclass(frozen=True)
class DeviceSpec:
    """A validated device file. ``qubits[i]`` is element ``q<i>`` (Qiskit qubit ``i``)."""

    path: Path
    qubits: tuple[QubitSpec, ...]
    edges: tuple[EdgeSpec, ...]
    modified_at: datetime | None = None

    @property
    def num_qubits(self) -> int:
        return len(self.qubits)

    def edge_between(self, a: int, b: int) -> EdgeSpec | None:
        """The declared edge joining qubits ``a`` and ``b`` in either orientation, if any."""
        names = {f"q{a}", f"q{b}"}
        for edge in self.edges:
            if {edge.parent, edge.child} == names and a != b:
                return edge
        return None

    def coupling_map(self) -> list[tuple[int, int]]:
        """Both directions of every declared edge (CZ is symmetric), sorted."""
        pairs: set[tuple[int, int]] = set()
        for edge in self.edges:
            a, b = int(edge.parent[1:]), int(edge.child[1:])
            pairs.update({(a, b), (b, a)})
        return sorted(pairs)


def load_mapping(path: Path, *, what: str) -> dict[str, Any]:
    """Read a JSON (``.json``) or YAML file holding a mapping; ConfigError naming the path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot be read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected a mapping at the top level")
    return data


def load_device_config(path: Path) -> DeviceSpec:
    """Load and validate the device config at ``path``."""
    data = load_mapping(path, what="device config")
    try:
        modified: datetime | None = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except OSError:
        modified = None
    return parse_device_config(data, path=path, modified_at=modified)


class _Problems:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[str] = []

    def add(self, element: str, message: str) -> None:
        self.items.append(f"{element}: {message}")

    def raise_if_any(self) -> None:
        if self.items:
            head = f"device config {self.path}: "
            raise ConfigError(head + "; ".join(self.items), problems=[head + p for p in self.items])


def _element_type(name: str, raw: Any, problems: _Problems) -> tuple[str, ElementKind, dict[str, Any]] | None:
    """(path, kind, kwargs) of an entry's ``element_type``; problems recorded, None on failure."""
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict) or "path" not in raw:
        problems.add(name, "'element_type' must be a mapping with a 'path' key")
        return None
    extra = sorted(set(raw) - {"path", "args", "kwargs"})
    if extra:
        problems.add(name, f"unknown key 'element_type.{extra[0]}'; valid: path, args, kwargs")
    path = str(raw["path"])
    kind = ELEMENT_TYPES.get(path)
    if kind is None:
        allowed = sorted({p for p in ELEMENT_TYPES if "." not in p})
        problems.add(
            name,
            f"element_type.path {path!r} is not allowed; use one of {', '.join(allowed)} "
            "(or their quantify import paths)",
        )
        return None
    args = raw.get("args") or []
    kwargs = raw.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        problems.add(name, "element_type.args must be a list and element_type.kwargs a mapping")
        return None
    match = EDGE_NAME.match(name)
    expected_args: list[list[str]] = [[]]
    if kind == "transmon":
        expected_args.append([name])
    elif match is not None:
        expected_args.append([match.group(1), match.group(2)])
    if [str(a) for a in args] not in expected_args:
        problems.add(name, f"element_type.args {args!r} do not match the element name")
    kwargs = dict(kwargs)
    if match is not None:
        for key, expected in (
            ("parent_element_name", match.group(1)),
            ("child_element_name", match.group(2)),
        ):
            if key in kwargs and kwargs.pop(key) != expected:
                problems.add(name, f"element_type.kwargs.{key} does not match the element name")
    kwargs.pop("name", None)
    return path, kind, kwargs


def _parameters(
    name: str, kind: ElementKind, entries: Mapping[str, Any], problems: _Problems
) -> dict[str, dict[str, ParamValue]]:
    schema = PARAMETERS[kind]
    params: dict[str, dict[str, ParamValue]] = {}
    for submodule, values in entries.items():
        if submodule not in schema:
            problems.add(name, f"unknown parameter group {submodule!r}; valid: {', '.join(schema)}")
            continue
        if not isinstance(values, dict):
            problems.add(name, f"{submodule!r} must be a mapping of parameters")
            continue
        for raw_key, raw_value in values.items():
            key = normalise_key(kind, name, submodule, str(raw_key))
            if key not in schema[submodule]:
                valid = ", ".join(schema[submodule])
                problems.add(name, f"unknown parameter '{submodule}.{raw_key}'; valid: {valid}")
                continue
            value = convert_value(raw_value, schema[submodule][key])
            if value is None:
                expected = schema[submodule][key].__name__
                problems.add(name, f"parameter '{submodule}.{raw_key}' must be a {expected}, not {raw_value!r}")
                continue
            params.setdefault(submodule, {})[key] = value
    return params


def parse_device_config(data: Mapping[str, Any], *, path: Path, modified_at: datetime | None = None) -> DeviceSpec:
    """Validate a loaded device config; all problems are reported in one ConfigError."""
    problems = _Problems(path)
    qubits: dict[int, QubitSpec] = {}
    edges: list[EdgeSpec] = []
    for raw_name, entry in data.items():
        name = str(raw_name)
        if not isinstance(entry, dict):
            problems.add(name, "expected a mapping with 'element_type' and parameters")
            continue
        if "element_type" not in entry:
            problems.add(name, "missing 'element_type'")
            continue
        resolved = _element_type(name, entry["element_type"], problems)
        if resolved is None:
            continue
        type_path, kind, kwargs = resolved
        merged = {k: v for k, v in entry.items() if k != "element_type"}
        for key, value in kwargs.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**value, **merged[key]}
            else:
                merged.setdefault(key, value)
        params = _parameters(name, kind, merged, problems)
        qubit_match = QUBIT_NAME.match(name)
        edge_match = EDGE_NAME.match(name)
        if kind == "transmon":
            if qubit_match is None:
                problems.add(name, "a qubit element must be named q<index> (q0, q1, …)")
                continue
            qubits[int(qubit_match.group(1))] = QubitSpec(
                name=name, kind=kind, path=type_path, params=params, index=int(qubit_match.group(1))
            )
        else:
            if edge_match is None:
                problems.add(name, "an edge must be named <parent>_<child>, e.g. q0_q1")
                continue
            edges.append(
                EdgeSpec(
                    name=name,
                    kind=kind,
                    path=type_path,
                    params=params,
                    parent=edge_match.group(1),
                    child=edge_match.group(2),
                )
            )
    if not qubits and not problems.items:
        problems.add("(file)", "no qubit elements (q0, q1, …) are declared")
    missing = [f"q{i}" for i in range(max(qubits, default=-1) + 1) if i not in qubits]
    if missing:
        problems.add("(file)", f"qubits must be numbered from q0 without gaps; missing {', '.join(missing)}")
    for edge in edges:
        for end in (edge.parent, edge.child):
            if int(end[1:]) not in qubits:
                problems.add(edge.name, f"edge refers to {end}, which is not declared")
        if edge.parent == edge.child:
            problems.add(edge.name, "an edge must join two different qubits")
    seen: dict[frozenset[str], str] = {}
    for edge in edges:
        ends = frozenset({edge.parent, edge.child})
        if ends in seen:
            problems.add(edge.name, f"duplicates edge {seen[ends]} (CZ is symmetric; declare one)")
        seen.setdefault(ends, edge.name)
    problems.raise_if_any()
    return DeviceSpec(
        path=path,
        qubits=tuple(qubits[i] for i in sorted(qubits)),
        edges=tuple(edges),
        modified_at=modified_at,
    )
