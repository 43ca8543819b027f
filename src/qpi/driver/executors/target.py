"""DeviceInfo → Qiskit ``Target`` (``executors.md`` §5, E-5.1) and the Aer ``device_file`` loader.

:func:`device_target` follows E-5.1: ``Target(num_qubits=…, dt=…, qubit_properties=…)`` by
keyword; every basis gate from Qiskit's standard-gate name mapping; 1-qubit gates and
``measure`` on every qubit; 2-qubit gates on every coupling pair (global when ``coupling_map``
is None); ``InstructionProperties(duration, error)`` from ``instructions`` and, for ``measure``,
from each qubit's readout figures.

:func:`load_device_file` reads a device description (YAML or JSON, the §5 schema) into a
:class:`~qpi.protocol.payload.DeviceInfo`; ``executor``, ``backend_name`` and ``simulator`` may be
left out of the file. Every problem is a :class:`~qpi.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import yaml

from qpi.errors import ConfigError
from qpi.protocol.payload import DeviceInfo

if TYPE_CHECKING:
    from qiskit.transpiler import InstructionProperties, Target

__all__ = ["CONTROL_FLOW_OPS", "device_target", "load_device_file"]

#: names Qiskit gives its control-flow operations
CONTROL_FLOW_OPS = ("if_else", "while_loop", "for_loop", "switch_case", "break_loop", "continue_loop")


def device_target(info: DeviceInfo, *, control_flow: bool = False) -> Target:
    """The Qiskit ``Target`` of ``info``; ``control_flow`` also admits Qiskit's control-flow ops."""
    from qiskit.circuit import (
        BreakLoopOp,
        ContinueLoopOp,
        ForLoopOp,
        IfElseOp,
        SwitchCaseOp,
        WhileLoopOp,
    )
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.providers import QubitProperties
    from qiskit.transpiler import InstructionProperties, Target

    qubit_properties = None
    if info.qubits:
        qubit_properties = [QubitProperties(t1=q.t1_s, t2=q.t2_s, frequency=q.frequency_hz) for q in info.qubits]
    target = Target(num_qubits=info.num_qubits, dt=info.dt, qubit_properties=qubit_properties)
    known: dict[tuple[str, tuple[int, ...]], InstructionProperties] = {
        (inst.name, tuple(inst.qubits)): InstructionProperties(duration=inst.duration_s, error=inst.error)
        for inst in info.instructions
    }
    readout = _readout_properties(info, InstructionProperties)
    mapping = get_standard_gate_name_mapping()
    names = list(dict.fromkeys([*info.basis_gates, "measure"]))
    for name in names:
        gate = mapping.get(name)
        if gate is None:
            raise ConfigError(
                f"basis gate {name!r} is not a Qiskit standard gate name "
                "(see qiskit.circuit.library.get_standard_gate_name_mapping)"
            )
        width = gate.num_qubits
        if width == 1:
            qargs: list[tuple[int, ...]] = [(q,) for q in range(info.num_qubits)]
        elif width == 0 or info.coupling_map is None:
            target.add_instruction(gate, None, name=name)
            continue
        elif width == 2:
            qargs = [(a, b) for a, b in info.coupling_map]
        else:
            raise ConfigError(
                f"basis gate {name!r} acts on {width} qubits; only 1- and 2-qubit gates can follow "
                "a coupling map (leave coupling_map null for all-to-all)"
            )
        props: dict[tuple[int, ...] | None, InstructionProperties | None] = {}
        for qarg in qargs:
            prop = known.get((name, qarg))
            if prop is None and name == "measure":
                prop = readout.get(qarg[0])
            props[qarg] = prop
        target.add_instruction(gate, props, name=name)
    if control_flow:
        for op_class, op_name in (
            (IfElseOp, "if_else"),
            (WhileLoopOp, "while_loop"),
            (ForLoopOp, "for_loop"),
            (SwitchCaseOp, "switch_case"),
            (BreakLoopOp, "break_loop"),
            (ContinueLoopOp, "continue_loop"),
        ):
            target.add_instruction(op_class, name=op_name)
    return target


def _readout_properties(info: DeviceInfo, factory: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for index, qubit in enumerate(info.qubits):
        if qubit.readout_error is not None or qubit.readout_duration_s is not None:
            out[index] = factory(duration=qubit.readout_duration_s, error=qubit.readout_error)
    return out


def load_device_file(path: Path, *, executor: str = "qiskit_aer") -> DeviceInfo:
    """Read and check a device description (YAML or JSON, ``executors.md`` §5)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read device file {str(path)!r}: {exc.strerror or exc}") from exc
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"device file {str(path)!r} is not valid JSON/YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"device file {str(path)!r} must hold a mapping at the top level")
    raw.setdefault("executor", executor)
    raw.setdefault("backend_name", path.stem)
    raw.setdefault("simulator", True)
    try:
        info = msgspec.convert(raw, DeviceInfo, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"device file {str(path)!r}: {exc}") from exc
    _check(info, path)
    return info


def _check(info: DeviceInfo, path: Path) -> None:
    where = f"device file {str(path)!r}"
    n = info.num_qubits
    if n < 1:
        raise ConfigError(f"{where}: num_qubits must be at least 1")
    if info.qubits and len(info.qubits) != n:
        raise ConfigError(f"{where}: 'qubits' has {len(info.qubits)} entries for {n} qubits")
    if info.qubit_labels and len(info.qubit_labels) != n:
        raise ConfigError(f"{where}: 'qubit_labels' has {len(info.qubit_labels)} entries for {n} qubits")
    for a, b in info.coupling_map or ():
        if not (0 <= a < n and 0 <= b < n) or a == b:
            raise ConfigError(f"{where}: coupling_map pair [{a}, {b}] is not a pair of qubits 0..{n - 1}")
    for inst in info.instructions:
        if any(not 0 <= q < n for q in inst.qubits):
            raise ConfigError(f"{where}: instruction {inst.name!r} on {inst.qubits} is outside qubits 0..{n - 1}")
