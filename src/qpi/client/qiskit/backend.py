"""``QPIBackend``: one QPU as a Qiskit ``BackendV2`` with a real ``Target`` (``client-and-cli.md`` §2.2).

Backends come from :class:`~qpi.client.qiskit.QPIProvider`. The QPU's detail (limits and device
description) is read on first use and cached; :meth:`QPIBackend.refresh` reads it again and
rebuilds the Target.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target

from qpi.client.models import QPU
from qpi.client.qiskit.job import QPIJob
from qpi.client.qiskit.runinput import prepare_run
from qpi.client.qiskit.target import build_target
from qpi.errors import InvalidInputError

if TYPE_CHECKING:
    from qpi.client.qiskit.provider import QPIProvider

__all__ = ["DEFAULT_MAX_CIRCUITS", "RUN_OPTIONS", "QPIBackend"]

DEFAULT_MAX_CIRCUITS = 300
DEFAULT_MAX_SHOTS = 100_000
#: keyword arguments of run() that are not backend options
RUN_ARGUMENTS = frozenset({"parameter_values", "job_name", "idempotency_key"})
RUN_OPTIONS = ("shots", "memory", "meas_level", "meas_return", "seed_simulator", "tags")


class QPIBackend(BackendV2):  # type: ignore[misc]
    """A QPU. ``run(circuits, shots=…, memory=…, parameter_values=…)`` returns a :class:`QPIJob`."""

    def __init__(self, provider: QPIProvider, qpu: QPU) -> None:
        super().__init__(provider=provider, name=qpu.name, description=qpu.description or None)
        self._qpi_provider = provider
        self._qpu = qpu
        self._detail: QPU | None = qpu if qpu.device is not None or qpu.max_shots is not None else None
        self._target: Target | None = None
        self._apply_limits()

    def __repr__(self) -> str:
        return f"<QPIBackend {self.name!r} ({self._qpu.status})>"

    @classmethod
    def _default_options(cls) -> Options:
        options = Options(shots=1024, memory=False, meas_level=2, meas_return="single", seed_simulator=None, tags=())
        options.set_validator("shots", (1, DEFAULT_MAX_SHOTS))
        options.set_validator("memory", bool)
        options.set_validator("meas_level", [0, 1, 2])
        options.set_validator("meas_return", ["single", "avg"])
        return options

    @property
    def qpu(self) -> QPU:
        """The QPU record (with limits and device description once read)."""
        return self._detail or self._qpu

    def _read_detail(self) -> QPU:
        if self._detail is None:
            client = self._qpi_provider.client
            self._detail = client.call(client.aio.qpus.get, self._qpu.id)
            self._qpu = self._detail
            self._apply_limits()
        return self._detail

    def _apply_limits(self) -> None:
        if self._detail is None:
            return
        self.options.set_validator("shots", (1, self.max_shots))
        device = self._detail.device
        if device is not None:
            versions = device.versions
            self.backend_version = versions.get("qpi") or device.executor or None

    def refresh(self) -> QPIBackend:
        """Read the QPU again and rebuild the Target from fresh device information."""
        self._detail = None
        self._target = None
        self._read_detail()
        return self

    @property
    def max_shots(self) -> int:
        detail = self._detail
        limits = (
            [v for v in (detail.max_shots, detail.device.max_shots if detail.device else None) if v] if detail else []
        )
        return min(limits) if limits else DEFAULT_MAX_SHOTS

    @property
    def max_circuits(self) -> int:
        """Experiments per job (the QPU's limit), so ``BackendSamplerV2`` splits large batches."""
        detail = self._read_detail()
        limits = [v for v in (detail.max_circuits, detail.device.max_circuits if detail.device else None) if v]
        return min(limits) if limits else DEFAULT_MAX_CIRCUITS

    @property
    def target(self) -> Target:
        if self._target is None:
            detail = self._read_detail()
            self._target = build_target(detail.device, detail.num_qubits, description=detail.description or None)
        return self._target

    @property
    def num_qubits(self) -> int:
        detail = self._read_detail()
        if detail.device is not None:
            return detail.device.num_qubits
        return detail.num_qubits or self.target.num_qubits or 0

    def _options_for(self, options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(RUN_OPTIONS) - RUN_ARGUMENTS)
        if unknown:
            valid = ", ".join((*RUN_OPTIONS, *sorted(RUN_ARGUMENTS)))
            raise InvalidInputError(f"unknown run option {', '.join(map(repr, unknown))}; valid options: {valid}")
        merged = {name: self.options[name] for name in RUN_OPTIONS}
        merged.update({k: v for k, v in options.items() if k in RUN_OPTIONS})
        shots = merged["shots"]
        if isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= self.max_shots:
            raise InvalidInputError(f"shots must be an integer between 1 and {self.max_shots}, not {shots!r}")
        if merged["meas_level"] not in (0, 1, 2):
            raise InvalidInputError(f"meas_level must be 0, 1 or 2, not {merged['meas_level']!r}")
        if merged["meas_return"] not in ("single", "avg"):
            raise InvalidInputError(f"meas_return must be 'single' or 'avg', not {merged['meas_return']!r}")
        seed = merged["seed_simulator"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidInputError(f"seed_simulator must be an integer, not {seed!r}")
        tags = merged["tags"]
        merged["tags"] = [tags] if isinstance(tags, str) else list(tags or ())
        return merged

    def run(self, run_input: Any, **options: Any) -> QPIJob:
        """Submit circuits (QuantumCircuit or OpenQASM text, or a list) as one job on this QPU.

        Options: explicit keyword > ``set_options`` > defaults; an unknown keyword raises
        :class:`~qpi.errors.InvalidInputError`. ``seed_simulator`` goes out as the job's ``seed``.
        """
        merged = self._options_for(options)
        detail = self._read_detail()
        prepared = prepare_run(run_input, options.get("parameter_values"), num_qubits=self.num_qubits)
        client = self._qpi_provider.client
        job = client.call(
            client.aio.jobs.submit,
            prepared.entries,
            qpu=detail.id,
            shots=merged["shots"],
            meas_level=merged["meas_level"],
            meas_return=merged["meas_return"],
            memory=bool(merged["memory"]),
            name=options.get("job_name"),
            tags=merged["tags"],
            seed=merged["seed_simulator"],
            idempotency_key=options.get("idempotency_key") or str(uuid.uuid4()),
        )
        return QPIJob(
            self,
            job.id,
            provider=self._qpi_provider,
            job=job,
            circuits=prepared.experiments,
            names=prepared.names,
        )
