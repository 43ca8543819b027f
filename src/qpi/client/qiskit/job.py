"""``QPIJob``: a Qiskit job handle for a QPI job (``client-and-cli.md`` §2.4).

It works with only a job id in a new process: the backend is resolved lazily from the job's
QPU, and :meth:`result` needs no backend at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from qpi.client.errors import JobAlreadyFinishedError, JobCancelledError, JobFailedError, WaitTimeoutError
from qpi.client.models import Job, JobState
from qpi.client.qiskit.errors import QPIJobCancelledError, QPIJobFailedError, QPIWaitTimeoutError
from qpi.client.qiskit.result import to_qiskit_result

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qpi.client.qiskit.backend import QPIBackend
    from qpi.client.qiskit.provider import QPIProvider

__all__ = ["STATUS_OF", "QPIJob"]

logger = logging.getLogger(__name__)

#: job state → Qiskit JobStatus (the one translation table)
STATUS_OF: dict[JobState, JobStatus] = {
    JobState.PENDING: JobStatus.QUEUED,
    JobState.DISPATCHED: JobStatus.INITIALIZING,
    JobState.RUNNING: JobStatus.RUNNING,
    JobState.COMPLETED: JobStatus.DONE,
    JobState.FAILED: JobStatus.ERROR,
    JobState.CANCELLED: JobStatus.CANCELLED,
    JobState.UNKNOWN: JobStatus.QUEUED,
}


class QPIJob(JobV1):  # type: ignore[misc]
    """A submitted job. ``result()`` waits through the event stream (polling as the fallback)."""

    def __init__(
        self,
        backend: QPIBackend | None,
        job_id: str,
        *,
        provider: QPIProvider,
        job: Job | None = None,
        circuits: Sequence[QuantumCircuit | None] | None = None,
        names: Sequence[str | None] | None = None,
    ) -> None:
        super().__init__(backend, job_id)
        self._provider = provider
        self._job = job
        self._circuits = list(circuits) if circuits is not None else None
        self._names = list(names) if names is not None else None
        self._result: Result | None = None
        self.metadata = self._metadata_of(job)

    def __repr__(self) -> str:
        state = self._job.state.value if self._job is not None else "?"
        return f"<QPIJob {self.job_id()} ({state})>"

    @staticmethod
    def _metadata_of(job: Job | None) -> dict[str, Any]:
        if job is None:
            return {}
        return {"name": job.name, "tags": list(job.tags), "qpu": job.qpu, "shots": job.shots}

    def _client(self) -> Any:
        return self._provider.client

    def refresh(self) -> Job:
        """Re-read the job from the server."""
        client = self._client()
        self._job = client.call(client.aio.jobs.get, self.job_id())
        self.metadata = self._metadata_of(self._job)
        return self._job

    @property
    def job(self) -> Job:
        """The last known QPI job record (fetched on first use)."""
        return self._job if self._job is not None else self.refresh()

    @property
    def name(self) -> str | None:
        return self.job.name

    @property
    def tags(self) -> list[str]:
        return list(self.job.tags)

    def backend(self) -> QPIBackend:
        """The job's backend; for a job loaded by id, resolved from its QPU on first use."""
        backend: QPIBackend | None = self.__dict__.get("_backend")
        if backend is None:
            job = self.job
            backend = self._provider.get_backend(job.qpu_id or job.qpu or "")
            self._backend = backend
        return backend

    def submit(self) -> None:
        from qpi.errors import QPIError

        raise QPIError("QPI jobs are submitted by QPIBackend.run(); this one already is")

    def status(self) -> JobStatus:
        state = self.refresh().state
        if state is JobState.UNKNOWN:
            logger.warning("job_id=%s has a state this client does not know; reporting QUEUED", self.job_id())
        return STATUS_OF[state]

    def queue_position(self) -> int | None:
        """1 = next to run; None unless the job is pending."""
        queue = self.refresh().queue
        return queue.position if queue is not None else None

    def waiting_reason(self) -> str | None:
        """Why a pending job waits, as a sentence ("behind 2 jobs"); None otherwise."""
        queue = self.refresh().queue
        return queue.text if queue is not None else None

    def cancel(self) -> bool:
        """True if the job is cancelled afterwards; False if it had already finished."""
        client = self._client()
        try:
            self._job = client.call(client.aio.jobs.cancel, self.job_id())
        except JobAlreadyFinishedError as exc:
            self._job = exc.job
            return False
        return self._job is not None and self._job.state is JobState.CANCELLED

    def wait_for_final_state(self, timeout: float | None = None, callback: Callable[..., Any] | None = None) -> None:
        """Wait (event stream, else polling); ``callback(job_id, status, job)`` on each change."""

        def report(job: Job) -> None:
            self._job = job
            if callback is not None:
                callback(self.job_id(), STATUS_OF[job.state], self)

        client = self._client()
        try:
            self._job = client.call(client.aio.jobs.wait, self.job_id(), timeout=timeout, on_update=report)
        except WaitTimeoutError as exc:
            raise QPIWaitTimeoutError(str(exc), job=exc.job) from exc

    def result(self, timeout: float | None = None) -> Result:
        """The Qiskit ``Result`` (cached). Failed or cancelled jobs raise (QPI and Qiskit errors)."""
        if self._result is not None:
            return self._result
        client = self._client()
        try:
            result = client.call(client.aio.jobs.result, self.job_id(), timeout=timeout)
        except JobFailedError as exc:
            self._job = exc.job
            raise QPIJobFailedError(str(exc), job=exc.job) from exc
        except JobCancelledError as exc:
            self._job = exc.job
            raise QPIJobCancelledError(str(exc), job=exc.job) from exc
        except WaitTimeoutError as exc:
            self._job = exc.job
            raise QPIWaitTimeoutError(str(exc), job=exc.job) from exc
        self._result = to_qiskit_result(result, self._circuits, self._names)
        return self._result
