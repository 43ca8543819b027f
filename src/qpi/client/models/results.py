"""The result document of a finished job, typed (``executors.md`` §2.3, ``api.md`` §3.5).

Keys are full-width bitstrings without spaces, classical bit 0 rightmost; register boundaries
travel in ``header.creg_sizes`` (:meth:`CircuitResult.spaced_counts` inserts the spaces the way
Qiskit's ``get_counts()`` does). The upstream-compatible top-level ``counts``/``circuit_results``
keys are read from the document but not duplicated here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from qpi.client.models._base import Model, convert, obj

if TYPE_CHECKING:
    from qiskit.result import Result

__all__ = ["CircuitResult", "JobResult", "ResultHeader", "Timings", "result_from_api", "space_key"]


class ResultHeader(Model, frozen=True, kw_only=True):
    name: str = ""
    n_qubits: int | None = None
    memory_slots: int = 0
    creg_sizes: list[tuple[str, int]] = []
    qreg_sizes: list[tuple[str, int]] = []
    clbit_labels: list[tuple[str, int]] = []
    qubit_labels: list[tuple[str, int]] = []
    metadata: dict[str, Any] = {}


class CircuitResult(Model, frozen=True, kw_only=True):
    """One experiment: a circuit, or one parameter set of a circuit."""

    name: str
    shots: int
    success: bool = True
    status: str = "DONE"
    meas_level: int = 2
    meas_return: str | None = None
    counts: dict[str, int] = {}
    memory: list[Any] | None = None
    header: ResultHeader = ResultHeader()
    seed_simulator: int | None = None
    time_taken: float | None = None

    @property
    def num_clbits(self) -> int:
        if self.header.memory_slots:
            return self.header.memory_slots
        return max((len(k) for k in self.counts), default=0)

    def probabilities(self) -> dict[str, float]:
        total = sum(self.counts.values())
        return {k: v / total for k, v in self.counts.items()} if total else {}

    def spaced_counts(self) -> dict[str, int]:
        """Counts with a space between classical registers (last-declared register leftmost)."""
        sizes = [size for _, size in self.header.creg_sizes]
        return {space_key(k, sizes): v for k, v in self.counts.items()}


class Timings(Model, frozen=True, kw_only=True):
    queued_s: float | None = None
    execution_s: float | None = None
    post_processing_s: float | None = None


class JobResult(Model, frozen=True, kw_only=True):
    """The Qiskit-compatible result document of a job."""

    backend_name: str | None = None
    backend_version: str | None = None
    job_id: str
    success: bool
    status: str | None = None
    shots: int | None = None
    date: datetime | None = None
    timings: Timings | None = None
    results: list[CircuitResult] = []
    error: str | None = None

    def experiment(self, circuit: int | str = 0) -> CircuitResult:
        """The experiment at index ``circuit``, or the one named ``circuit``."""
        if isinstance(circuit, str):
            for experiment in self.results:
                if experiment.name == circuit:
                    return experiment
            names = ", ".join(repr(e.name) for e in self.results)
            raise KeyError(f"no circuit named {circuit!r} in job {self.job_id} (circuits: {names})")
        try:
            return self.results[circuit]
        except IndexError:
            raise IndexError(f"job {self.job_id} has {len(self.results)} experiments, not {circuit + 1}") from None

    def counts(self, circuit: int | str = 0) -> dict[str, int]:
        """Counts of one experiment: full-width bitstrings, classical bit 0 rightmost."""
        return dict(self.experiment(circuit).counts)

    def probabilities(self, circuit: int | str = 0) -> dict[str, float]:
        return self.experiment(circuit).probabilities()

    def memory(self, circuit: int | str = 0) -> list[Any] | None:
        return self.experiment(circuit).memory

    def to_qiskit(self) -> Result:
        """A ``qiskit.result.Result`` (imports qiskit)."""
        from qpi.client.qiskit.result import to_qiskit_result

        return to_qiskit_result(self)


def space_key(key: str, sizes: list[int]) -> str:
    """``"101"`` with registers of sizes [1, 2] → ``"10 1"`` (the first register is rightmost)."""
    if len(sizes) <= 1 or sum(sizes) != len(key):
        return key
    parts: list[str] = []
    end = len(key)
    for size in sizes:
        parts.append(key[end - size : end])
        end -= size
    return " ".join(reversed(parts))


def _experiment_shape(raw: dict[str, Any], index: int) -> dict[str, Any]:
    header = obj(raw.get("header"))
    data = obj(raw.get("data"))
    return {
        "name": header.get("name") or f"circuit-{index}",
        "shots": raw.get("shots", 0),
        "success": raw.get("success", True),
        "status": raw.get("status", "DONE"),
        "meas_level": raw.get("meas_level", 2),
        "meas_return": raw.get("meas_return"),
        "counts": data.get("counts") or {},
        "memory": data.get("memory"),
        "header": {k: v for k, v in header.items() if v is not None},
        "seed_simulator": raw.get("seed_simulator"),
        "time_taken": raw.get("time_taken"),
    }


def result_from_api(raw: dict[str, Any]) -> JobResult:
    """The served result document → :class:`JobResult` (a failed job's document too)."""
    found = raw.get("results")
    experiments: list[Any] = found if isinstance(found, list) else []
    error = raw.get("error")
    shaped = {
        "backend_name": raw.get("backend_name") or raw.get("backend"),
        "backend_version": raw.get("backend_version"),
        "job_id": raw.get("job_id") or raw.get("qobj_id") or "",
        "success": bool(raw.get("success", True)),
        "status": raw.get("status"),
        "shots": raw.get("shots"),
        "date": raw.get("date"),
        "timings": raw.get("timings") if isinstance(raw.get("timings"), dict) else None,
        "results": [_experiment_shape(e, i) for i, e in enumerate(experiments) if isinstance(e, dict)],
        "error": error if isinstance(error, str) else None,
    }
    return convert(JobResult, shaped, raw)
