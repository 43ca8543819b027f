"""Job submission, checks 6–14 of ``api.md`` §3.3 (1–5 run in the ASGI layer), and the insert (T1).

Circuit parsing runs in a worker thread (``anyio.to_thread``), so a maximum-size submission does
not stall other requests. ``qiskit`` is imported by :mod:`qpi.server.circuits` at server start,
in the main thread.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import anyio
import msgspec

from qpi.errors import BadRequestError
from qpi.protocol.payload import AcqOverride, JobPayload
from qpi.server.auth.principal import Principal
from qpi.server.circuits import CircuitIn, ValidatedCircuit, count_experiments, max_width, validate_circuits
from qpi.server.context import ServerContext
from qpi.server.scheduling import QpuCandidate, check_target, choose_qpu, effective_max_attempts
from qpi.server.store import JobRow, NewJob, QpuRow
from qpi.server.store.common import json_dumps, json_loads, new_id

__all__ = ["JobSubmitRequest", "submit_job"]

_TAG = re.compile(r"^[A-Za-z0-9_.:=-]{1,64}$")


class AcqOverrideIn(msgspec.Struct, forbid_unknown_fields=True):
    rotation_deg: float | None = None
    threshold: float | None = None


class JobSubmitRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The submission body (``api.md`` §3.1)."""

    circuits: Annotated[list[CircuitIn], msgspec.Meta(max_length=100_000)]
    shots: int = 1024
    meas_level: Literal[0, 1, 2] = 2
    meas_return: Literal["single", "avg"] = "single"
    memory: bool = False
    acq_rotation: float | None = None
    acq_threshold: float | None = None
    acq_overrides: Annotated[dict[str, AcqOverrideIn], msgspec.Meta(max_length=10_000)] | None = None
    seed: int | None = None
    options: Annotated[dict[str, str | int | float | bool], msgspec.Meta(max_length=100)] = {}
    name: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    qpu_target: str | None = None
    tags: Annotated[list[str], msgspec.Meta(max_length=100)] = []


def _shape_checks(body: JobSubmitRequest) -> None:
    """Check 6: what the type system cannot say."""
    if not body.circuits:
        raise BadRequestError("circuits must hold at least one circuit", field="circuits")
    if body.shots < 1:
        raise BadRequestError("shots must be at least 1", code="shots_out_of_range", field="shots")
    for i, c in enumerate(body.circuits):
        if c.shots is not None and c.shots < 1:
            raise BadRequestError(
                f"circuits[{i}].shots must be at least 1", code="shots_out_of_range", field=f"circuits[{i}].shots"
            )
        if not c.circuit.strip():
            raise BadRequestError(
                f"circuits[{i}].circuit is empty", code="invalid_circuit", field=f"circuits[{i}].circuit"
            )
    if len(body.tags) > 20:
        raise BadRequestError("at most 20 tags are allowed", code="invalid_tags", field="tags")
    for i, tag in enumerate(body.tags):
        if not _TAG.match(tag):
            raise BadRequestError(
                f"tags[{i}] must be 1 to 64 characters of letters, digits and _ . : = -",
                code="invalid_tags",
                field=f"tags[{i}]",
            )
    for key in body.acq_overrides or {}:
        if not key.isdigit():
            raise BadRequestError(
                f"acq_overrides keys are physical qubit indices, not {key!r}", field=f"acq_overrides.{key}"
            )
    names = [c.name for c in body.circuits if c.name is not None]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise BadRequestError(
            f"circuit name {duplicate!r} is used twice; names must be unique in a job",
            code="duplicate_circuit_name",
            field="circuits",
        )


def _device(qpu: QpuRow) -> dict[str, Any] | None:
    info = json_loads(qpu.device_info) if qpu.device_info else None
    return info if isinstance(info, dict) else None


def _limits(qpu: QpuRow) -> tuple[int, int, int | None]:
    """(max_shots, max_circuits, num_qubits): the smaller of the QPU's and its driver's (§3.3)."""
    device = _device(qpu) or {}
    max_shots = min(qpu.max_shots, int(device.get("max_shots") or qpu.max_shots))
    max_circuits = min(qpu.max_circuits, int(device.get("max_circuits") or qpu.max_circuits))
    width = device.get("num_qubits") if isinstance(device.get("num_qubits"), int) else qpu.num_qubits
    return max_shots, max_circuits, width


async def _candidates(ctx: ServerContext) -> list[tuple[QpuCandidate, QpuRow]]:
    rows = await ctx.store.qpus.all()
    stats = await ctx.store.qpus.stats([r.id for r in rows], now=ctx.clock.now_us())
    out = []
    for r in rows:
        s = stats[r.id]
        out.append(
            (
                QpuCandidate(
                    id=r.id,
                    name=r.name,
                    enabled=r.enabled,
                    bookable=r.bookable,
                    num_qubits=_limits(r)[2],
                    driver_online=s.drivers_online > 0,
                    pending=s.pending,
                    running=s.running,
                    slot_holder=s.booking_user_id,
                ),
                r,
            )
        )
    return out


async def _validate(body: JobSubmitRequest, qpu: QpuRow | None, ctx: ServerContext) -> list[ValidatedCircuit]:
    if qpu is not None:
        max_shots, max_circuits, width = _limits(qpu)
    else:
        max_shots, max_circuits, width = ctx.config.max_shots, ctx.config.max_circuits_per_job, None

    def validate() -> list[ValidatedCircuit]:
        return validate_circuits(
            body.circuits,
            default_shots=body.shots,
            max_shots=max_shots,
            max_experiments=max_circuits,
            num_qubits=width,
        )

    if _parses_quickly(body):
        return validate()  # cheaper than the thread hop, and short enough not to stall the loop
    return await anyio.to_thread.run_sync(validate)


_INLINE_PARSE_CHARS = 4096


def _parses_quickly(body: JobSubmitRequest) -> bool:
    """Small OpenQASM 2 sources parse in well under a millisecond; OpenQASM 3 and big circuits go to a
    thread so that they never hold up the event loop (``qasm3.loads`` takes ~200 ms on first use)."""
    total = 0
    for item in body.circuits:
        source = item.circuit
        total += len(source)
        if total > _INLINE_PARSE_CHARS or not source.lstrip().startswith("OPENQASM 2"):
            return False
    return True


def _check_qpu_limits(body: JobSubmitRequest, validated: list[ValidatedCircuit], qpu: QpuRow) -> None:
    """Check 9 again for an automatically chosen QPU (validation ran against the server limits)."""
    max_shots, max_circuits, _ = _limits(qpu)
    if count_experiments(body.circuits) > max_circuits:
        raise BadRequestError(
            f"this job has {count_experiments(body.circuits)} experiments; QPU {qpu.name} takes at most {max_circuits}",
            code="too_many_circuits",
            field="circuits",
        )
    for i, c in enumerate(validated):
        if c.shots > max_shots:
            raise BadRequestError(
                f"circuits[{i}].shots must be between 1 and {max_shots}.",
                code="shots_out_of_range",
                field=f"circuits[{i}].shots",
            )


def _check_meas_level(body: JobSubmitRequest, qpu: QpuRow) -> None:
    device = _device(qpu)
    levels = device.get("meas_levels") if device else None
    if isinstance(levels, list) and body.meas_level not in levels:
        raise BadRequestError(
            f"QPU {qpu.name} supports meas_level {', '.join(map(str, levels))}, not {body.meas_level}",
            code="unsupported_meas_level",
            field="meas_level",
        )


async def submit_job(ctx: ServerContext, principal: Principal, body: JobSubmitRequest) -> JobRow:
    _shape_checks(body)
    target = (body.qpu_target or "").strip() or None
    qpu: QpuRow | None = None
    if target is not None:
        qpu = await ctx.store.qpus.get(target)
        if qpu is None:
            raise BadRequestError(f"QPU {target!r} not found", code="qpu_not_found", field="qpu_target")
        check_target(QpuCandidate(id=qpu.id, name=qpu.name, enabled=qpu.enabled))
        validated = await _validate(body, qpu, ctx)
    else:
        candidates = await _candidates(ctx)
        if not any(c.enabled and c.driver_online for c, _ in candidates):
            choose_qpu([c for c, _ in candidates], caller=principal.id, width=0)  # raises no_qpu_available
        validated = await _validate(body, None, ctx)
        chosen = choose_qpu([c for c, _ in candidates], caller=principal.id, width=max_width(validated))
        qpu = next(row for c, row in candidates if c.id == chosen.id)
        _check_qpu_limits(body, validated, qpu)
    _check_meas_level(body, qpu)
    job_id = new_id()
    payload = JobPayload(
        id=job_id,
        circuits=[v.to_payload() for v in validated],
        shots=body.shots,
        meas_level=body.meas_level,
        meas_return=body.meas_return,
        memory=body.memory,
        acq_rotation=body.acq_rotation,
        acq_threshold=body.acq_threshold,
        acq_overrides={
            int(k): AcqOverride(rotation_deg=v.rotation_deg, threshold=v.threshold)
            for k, v in body.acq_overrides.items()
        }
        if body.acq_overrides
        else None,
        seed=body.seed,
        options=dict(body.options),
    )
    stored = msgspec.to_builtins(payload)
    # the record shows the normalised request in full (api.md §3.4), defaults included
    stored.update(shots=body.shots, meas_level=body.meas_level, meas_return=body.meas_return, memory=body.memory)
    stored["qpu_target"] = qpu.id
    row, event = await ctx.store.jobs.insert(
        NewJob(
            id=job_id,
            owner=principal.id,
            qpu_id=qpu.id,
            qpu_name=qpu.name,
            qpu_auto=target is None,
            name=body.name,
            payload_json=json_dumps(stored),
            shots=body.shots,
            num_circuits=sum(v.num_experiments for v in validated),
            meas_level=body.meas_level,
            max_attempts=effective_max_attempts(qpu.max_attempts, ctx.settings),
            tags=tuple(dict.fromkeys(body.tags)),
        ),
        now=ctx.clock.now_us(),
        max_pending=ctx.config.max_pending_jobs_per_user or None,
    )
    ctx.hub.publish([event])
    ctx.hub.wake(qpu.id)
    return row
