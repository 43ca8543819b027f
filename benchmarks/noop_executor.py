"""A benchmark-only executor: returns a valid result without simulating (``noop_per_s``).

Loaded by the driver as ``--executor benchmarks.noop_executor:NoopExecutor`` (run the driver from
the repository root so the workers can import it).
"""

from __future__ import annotations

from typing import Any, ClassVar

import xarray as xr

from qpi.driver.executors.base import Executor
from qpi.protocol.payload import DeviceInfo, JobPayload


class NoopExecutor(Executor):
    kind: ClassVar[str] = "custom"

    def execute(self, payload: JobPayload) -> xr.Dataset:
        return xr.Dataset(attrs={"job_id": payload.id, "shots": payload.shots})

    def process_result(self, dataset: xr.Dataset, job_id: str) -> dict[str, Any]:
        shots = int(dataset.attrs["shots"])
        header = {
            "name": "circuit-0",
            "n_qubits": 2,
            "memory_slots": 2,
            "creg_sizes": [["c", 2]],
            "qreg_sizes": [["q", 2]],
            "clbit_labels": [["c", 0], ["c", 1]],
            "qubit_labels": [["q", 0], ["q", 1]],
            "metadata": {"circuit_index": 0},
        }
        return {
            "backend_name": "noop",
            "backend_version": "0",
            "qobj_id": job_id,
            "job_id": job_id,
            "success": True,
            "shots": shots,
            "results": [{"shots": shots, "success": True, "header": header, "data": {"counts": {"00": shots}}}],
        }

    def device_info(self) -> DeviceInfo:
        return DeviceInfo(
            executor="custom", backend_name="noop", simulator=True, num_qubits=2, basis_gates=["cx", "h", "measure"]
        )
