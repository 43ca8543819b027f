"""``QPIProvider``: the QPUs of a QPI server as Qiskit backends, and jobs by id (``client-and-cli.md`` §2.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qpi.client.errors import NotFoundError
from qpi.client.qiskit.backend import QPIBackend
from qpi.client.qiskit.errors import BackendNotFoundError
from qpi.client.qiskit.job import QPIJob

if TYPE_CHECKING:
    from qpi.client.sync import Client

__all__ = ["QPIProvider"]


class QPIProvider:
    """``QPIProvider(url=None, token=None)`` resolves its configuration like ``Client`` (§1.1);
    ``client=`` shares an existing :class:`~qpi.client.Client` instead."""

    def __init__(self, url: str | None = None, token: str | None = None, *, client: Client | None = None) -> None:
        if client is None:
            from qpi.client.sync import Client

            client = Client(url, token)
            self._owns_client = True
        else:
            self._owns_client = False
        self.client: Client = client

    def __repr__(self) -> str:
        return f"<QPIProvider {self.client.url}>"

    def __enter__(self) -> QPIProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client if this provider created it."""
        if self._owns_client:
            self.client.close()

    def backends(
        self, name: str | None = None, *, online: bool | None = None, min_qubits: int | None = None
    ) -> list[QPIBackend]:
        """The QPUs as backends, optionally filtered by name, online status and width."""
        qpus = self.client.call(self.client.aio.qpus.list)
        out = []
        for qpu in qpus:
            if name is not None and qpu.name != name:
                continue
            if online is not None and qpu.online != online:
                continue
            if min_qubits is not None and (qpu.num_qubits or 0) < min_qubits:
                continue
            out.append(QPIBackend(self, qpu))
        return out

    def get_backend(self, name: str) -> QPIBackend:
        """The QPU with this name or id; unknown → :class:`BackendNotFoundError`."""
        if not name:
            raise BackendNotFoundError("give a QPU name or id", status=404)
        try:
            qpu = self.client.call(self.client.aio.qpus.get, name)
        except NotFoundError as exc:
            raise BackendNotFoundError(f"no QPU named {name!r} on {self.client.url}", status=404) from exc
        return QPIBackend(self, qpu)

    def job(self, job_id: str) -> QPIJob:
        """A handle on an existing job; works in a new process with only the id."""
        job = self.client.call(self.client.aio.jobs.get, job_id)
        return QPIJob(None, job.id, provider=self, job=job)

    def jobs(self, *, limit: int = 20, state: str | None = None, tags: Sequence[str] | None = None) -> list[QPIJob]:
        """My latest jobs, newest first."""
        page = self.client.call(self.client.aio.jobs.list, state=state, tag=list(tags or []) or None, limit=limit)
        return [QPIJob(None, job.id, provider=self, job=job) for job in page.items]
