"""Qiskit integration: :class:`QPIProvider`, :class:`QPIBackend` (``BackendV2``), :class:`QPIJob`.

::

    from qiskit import QuantumCircuit, transpile
    from qpi.client.qiskit import QPIProvider

    backend = QPIProvider().get_backend("local_aer")
    job = backend.run(transpile(qc, backend), shots=1000)
    print(job.result().get_counts())

Importing this module imports qiskit (``import qpi.client`` does not).
"""

from __future__ import annotations

from qpi.client.qiskit.backend import QPIBackend
from qpi.client.qiskit.errors import BackendNotFoundError, QPIJobCancelledError, QPIJobFailedError, QPIWaitTimeoutError
from qpi.client.qiskit.job import QPIJob
from qpi.client.qiskit.provider import QPIProvider
from qpi.client.qiskit.result import circuit_header, to_qiskit_result
from qpi.client.qiskit.target import build_target

__all__ = [
    "BackendNotFoundError",
    "QPIBackend",
    "QPIJob",
    "QPIJobCancelledError",
    "QPIJobFailedError",
    "QPIProvider",
    "QPIWaitTimeoutError",
    "build_target",
    "circuit_header",
    "to_qiskit_result",
]
