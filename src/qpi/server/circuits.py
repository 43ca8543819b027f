"""Validation of the circuits of a job submission (``api.md`` §3.1, checks 6 and 9 to 13 of §3.3).

:func:`validate_circuits` is synchronous, CPU-bound and thread-safe: the jobs route calls it through
``anyio.to_thread.run_sync`` so that parsing a maximum-size submission never stalls the event loop.
The first failing check answers, in the order of ``api.md`` §3.3, each check over every circuit
before the next check starts:

====  =============================================  ======================================
 #     check                                          400 code
====  =============================================  ======================================
 6     names 1..128 characters, unique in the job     ``invalid_request``, ``duplicate_circuit_name``
 9     experiment count ≤ limit; shots in 1..limit    ``too_many_circuits``, ``shots_out_of_range``
 10    each circuit parses                            ``invalid_circuit``
 11    declared qubits ≤ the QPU's (when known)       ``circuit_too_wide``
 12    a classical bit and a measurement              ``no_measurements``
 13    parameter sets fit the circuit's parameters    ``parameter_mismatch``
====  =============================================  ======================================

The server must import this module (hence qiskit, through :mod:`qpi.qasm`) in the main thread at
start-up, and should call :func:`qpi.qasm.warm_up` there too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Annotated

import msgspec

from qpi.errors import BadRequestError, PayloadError, QasmParseError
from qpi.protocol.payload import CircuitPayload
from qpi.qasm import QasmVersion, check_parameter_sets, circuit_summary, normalise_source, parse_versioned
from qpi.qasm.summary import CircuitSummary

__all__ = [
    "MAX_NAME_LENGTH",
    "CircuitIn",
    "ValidatedCircuit",
    "count_experiments",
    "max_width",
    "validate_circuits",
]

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 128


class CircuitIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One element of ``circuits`` in a submission body (``api.md`` §3.1)."""

    circuit: str
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH)] | None = None
    parameter_values: list[list[float]] | None = None
    shots: int | None = None


class ValidatedCircuit(msgspec.Struct, frozen=True):
    """A circuit that passed every check, normalised for the stored payload."""

    source: str  # the submitted text, with ``OPENQASM 3.0;`` prepended when it had no version statement
    name: str  # given, or ``circuit-<index>``
    shots: int  # the circuit's own, or the job's
    parameter_values: list[list[float]] | None  # None when no sets were given (``[]`` included)
    num_qubits: int
    num_clbits: int
    qasm_version: QasmVersion
    parameter_names: tuple[str, ...] = ()

    @property
    def num_experiments(self) -> int:
        return max(1, len(self.parameter_values or ()))

    def to_payload(self) -> CircuitPayload:
        """The circuit as stored in the job's payload and sent to the driver."""
        return CircuitPayload(
            circuit=self.source, parameter_values=self.parameter_values, shots=self.shots, name=self.name
        )


def count_experiments(circuits: Sequence[CircuitIn]) -> int:
    """Experiments in a submission: a circuit counts once per parameter set, at least once."""
    return sum(max(1, len(item.parameter_values or ())) for item in circuits)


def max_width(validated: Sequence[ValidatedCircuit]) -> int:
    """The widest circuit's number of qubits (0 for none): what automatic placement needs."""
    return max((item.num_qubits for item in validated), default=0)


def validate_circuits(
    circuits: Sequence[CircuitIn],
    *,
    default_shots: int,
    max_shots: int,
    max_experiments: int,
    num_qubits: int | None,
) -> list[ValidatedCircuit]:
    """Check the circuits of a submission and return them normalised.

    ``default_shots`` is the job's ``shots``; ``max_shots`` and ``max_experiments`` are the target
    QPU's limits; ``num_qubits`` is its width, or None while unknown (check 11 skipped). Raises
    :class:`BadRequestError` with the code and ``field`` of the first failing check.
    """
    names = _check_names(circuits)
    _check_limits(circuits, default_shots=default_shots, max_shots=max_shots, max_experiments=max_experiments)
    parsed = [_parse(index, item) for index, item in enumerate(circuits)]
    for index, (_, _, summary) in enumerate(parsed):
        if num_qubits is not None and summary.num_qubits > num_qubits:
            raise BadRequestError(
                f"circuits[{index}] uses {_qubits(summary.num_qubits)} but the QPU has {_qubits(num_qubits)}.",
                code="circuit_too_wide",
                field=f"circuits[{index}].circuit",
            )
    for index, (_, _, summary) in enumerate(parsed):
        if summary.num_clbits == 0 or not summary.has_measurements:
            reason = "no classical bits" if summary.num_clbits == 0 else "no measurement"
            raise BadRequestError(
                f"circuits[{index}] has {reason}; measure at least one qubit into a classical bit.",
                code="no_measurements",
                field=f"circuits[{index}].circuit",
            )
    for index, (item, (_, _, summary)) in enumerate(zip(circuits, parsed, strict=True)):
        try:
            check_parameter_sets(summary.parameter_names, item.parameter_values, circuit_index=index)
        except PayloadError as exc:
            raise BadRequestError(
                f"circuits[{index}].parameter_values: {exc.message}.",
                code="parameter_mismatch",
                field=f"circuits[{index}].parameter_values",
            ) from exc
    return [
        ValidatedCircuit(
            source=source,
            name=names[index],
            shots=item.shots if item.shots is not None else default_shots,
            parameter_values=item.parameter_values or None,
            num_qubits=summary.num_qubits,
            num_clbits=summary.num_clbits,
            qasm_version=version,
            parameter_names=summary.parameter_names,
        )
        for index, (item, (source, version, summary)) in enumerate(zip(circuits, parsed, strict=True))
    ]


def _qubits(count: int) -> str:
    return f"{count} qubit" if count == 1 else f"{count} qubits"


def _check_names(circuits: Sequence[CircuitIn]) -> list[str]:
    """Check 6 for the circuits: at least one circuit; names 1..128 characters and unique."""
    if not circuits:
        raise BadRequestError("circuits must hold at least one circuit.", field="circuits")
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(circuits):
        name = item.name if item.name is not None else f"circuit-{index}"
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise BadRequestError(
                f"circuits[{index}].name must be 1 to {MAX_NAME_LENGTH} characters long.",
                field=f"circuits[{index}].name",
            )
        if name in seen:
            raise BadRequestError(
                f"circuits[{index}].name {name!r} is already the name of circuits[{seen[name]}]; "
                "circuit names must be unique within a job.",
                code="duplicate_circuit_name",
                field=f"circuits[{index}].name",
            )
        seen[name] = index
        names.append(name)
    return names


def _check_limits(circuits: Sequence[CircuitIn], *, default_shots: int, max_shots: int, max_experiments: int) -> None:
    """Check 9: experiment count, then the job's shots, then each circuit's shots."""
    experiments = count_experiments(circuits)
    if experiments > max_experiments:
        raise BadRequestError(
            f"The job has {experiments} experiments (a circuit counts once per parameter set); "
            f"the QPU accepts at most {max_experiments}.",
            code="too_many_circuits",
            field="circuits",
        )
    if not 1 <= default_shots <= max_shots:
        raise BadRequestError(f"shots must be between 1 and {max_shots}.", code="shots_out_of_range", field="shots")
    for index, item in enumerate(circuits):
        if item.shots is not None and not 1 <= item.shots <= max_shots:
            raise BadRequestError(
                f"circuits[{index}].shots must be between 1 and {max_shots}.",
                code="shots_out_of_range",
                field=f"circuits[{index}].shots",
            )


@functools.lru_cache(maxsize=256)
def _checked(text: str) -> tuple[str, QasmVersion, CircuitSummary]:
    """Parse and summarise one source; successes are remembered, keyed by the exact text.

    Users resubmit the same circuit again and again (loops, sweeps over shots or parameter sets), and
    parsing is most of a small submission's cost. The key is the whole text, so a hit is the same
    answer; 256 entries of at most ``_CACHED_CHARS`` characters bound the memory to about 1 MiB.
    """
    version, circuit = parse_versioned(text, require_header=False)
    return normalise_source(text), version, circuit_summary(circuit)


_CACHED_CHARS = 4096


def _parse(index: int, item: CircuitIn) -> tuple[str, QasmVersion, CircuitSummary]:
    """Check 10 for one circuit: (normalised source, version, summary)."""
    try:
        if len(item.circuit) <= _CACHED_CHARS:
            return _checked(item.circuit)
        version, circuit = parse_versioned(item.circuit, require_header=False, circuit_index=index)
        source = normalise_source(item.circuit)
    except QasmParseError as exc:
        where = f"line {exc.line}, column {exc.column}: " if exc.line is not None else ""
        if exc.line is not None and exc.column is None:
            where = f"line {exc.line}: "
        raise BadRequestError(
            f"circuits[{index}].circuit: {where}{exc.message}",
            code="invalid_circuit",
            field=f"circuits[{index}].circuit",
        ) from exc
    return source, version, circuit_summary(circuit)
