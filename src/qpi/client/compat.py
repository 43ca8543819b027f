"""``QPIClient``: the upstream ``qpi_client.QPIClient`` interface, over :class:`~qpi.client.Client`.

Only the import line changes for upstream code (``from qpi.client import QPIClient``). Methods
keep their upstream names and return shapes — a job id from :meth:`~QPIClient.submit_job`,
JSON-like dicts and lists elsewhere — and every one of them works with an API token (upstream's
collection-based methods silently needed a password session). Errors are the QPI error tree
(upstream raised ``requests.HTTPError`` without the server's message).

``allocate_qpu_time`` keeps upstream's *set* semantics: the balance becomes ``seconds``.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from qpi.client.sync import Client
from qpi.errors import InvalidInputError, QPIError

if TYPE_CHECKING:
    from qpi.client.qiskit import QPIBackend, QPIJob

__all__ = ["QPIClient"]


def _instant(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(f"not an RFC 3339 timestamp: {value!r}") from exc


class QPIClient:
    """Upstream-compatible client. ``QPIClient(url, api_token=tok).submit_job(circuits=[{"circuit": qasm}])``."""

    def __init__(self, base_url: str | None = None, api_token: str | None = None) -> None:
        self._client = Client(base_url, api_token or None)
        self._aio = self._client.aio
        self.base_url = self._client.url
        self._provider: Any = None

    def __repr__(self) -> str:
        return repr(self._client).replace("Client(", "QPIClient(", 1)

    @property
    def client(self) -> Client:
        """The full :class:`~qpi.client.Client` behind this compatibility layer."""
        return self._client

    # -- jobs ------------------------------------------------------------------------------

    def submit_job(
        self,
        circuits: list[dict[str, Any]] | list[Any],
        shots: int = 1024,
        meas_level: int = 2,
        meas_return: str = "single",
        qpu_target: str = "",
        *,
        memory: bool = False,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] = (),
    ) -> str:
        """Submit; returns the job id. Without ``qpu_target`` (id or name) the server places the job."""
        job = self._client.call(
            self._aio.jobs.submit,
            circuits,
            qpu=qpu_target or None,
            shots=shots,
            meas_level=meas_level,
            meas_return=meas_return,
            memory=memory,
            name=name,
            tags=tags,
        )
        return job.id

    def get_job(self, job_id: str) -> dict[str, Any]:
        """The full job record (with ``payload`` and ``results``)."""
        return self._client.call(self._aio.jobs.get, job_id).to_dict()

    def list_jobs(self) -> list[dict[str, Any]]:
        """Every job of the caller, newest first."""
        return [job.to_dict() for job in self._client.jobs.iter()]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """``{"id", "status": "cancelled"}``; a finished job raises ``JobAlreadyFinishedError``."""
        job = self._client.call(self._aio.jobs.cancel, job_id)
        return {"id": job.id, "status": job.status}

    def get_backend(self, name: str = "qpi") -> QPIBackend:
        """The Qiskit backend of the QPU ``name`` (or id)."""
        backend: QPIBackend = self._qiskit().get_backend(name)
        return backend

    def job(self, job_id: str) -> QPIJob:
        """A Qiskit job handle for an existing job (its backend is resolved lazily)."""
        job: QPIJob = self._qiskit().job(job_id)
        return job

    def _qiskit(self) -> Any:
        if self._provider is None:
            from qpi.client.qiskit import QPIProvider

            self._provider = QPIProvider(client=self._client)
        return self._provider

    # -- QPUs ------------------------------------------------------------------------------

    def list_qpus(self) -> list[dict[str, Any]]:
        """Every registered QPU with its status (upstream listed online ones only)."""
        return [qpu.to_dict() for qpu in self._client.call(self._aio.qpus.list)]

    def get_qpu(self, name: str) -> dict[str, Any]:
        """One QPU by name or id, with its device description."""
        return self._client.call(self._aio.qpus.get, name).to_dict()

    def create_qpu(
        self, name: str, executor_type: str | None = None, num_qubits: int | None = None, enabled: bool | None = None
    ) -> dict[str, Any]:
        """Register a QPU and its driver; the answer holds ``access_token`` (shown once)."""
        qpu = self._client.call(
            self._aio.admin.qpus.create,
            name,
            num_qubits=num_qubits,
            enabled=True if enabled is None else enabled,
            with_driver=True,
            executor_type=executor_type,
        )
        return qpu.to_dict()

    def toggle_qpu(self, qpu_id: str, enabled: bool) -> dict[str, Any]:
        qpus = self._aio.admin.qpus
        qpu = self._client.call(qpus.enable if enabled else qpus.disable, qpu_id)
        return {"id": qpu.id, "name": qpu.name, "enabled": qpu.enabled, "status": qpu.status}

    def connect_qpu(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Removed upstream in 0.1.1: drivers connect themselves."""
        raise QPIError("connect_qpu is gone: run the driver with `qpi driver start --qpi-addr … --token …`")

    # -- notifications ---------------------------------------------------------------------

    def list_notifications(self) -> list[dict[str, Any]]:
        return [n.to_dict() for n in self._client.call(self._aio.notifications.list)]

    def dismiss_notification(self, notification_id: str) -> dict[str, Any]:
        self._client.call(self._aio.notifications.dismiss, notification_id)
        return {"status": "dismissed"}

    # -- bookings (upstream "time slots") --------------------------------------------------

    def list_time_slots(self) -> list[dict[str, Any]]:
        return [b.to_dict() for b in self._client.call(self._aio.bookings.list)]

    def create_time_slot(
        self, start_time: str | datetime, end_time: str | datetime, booked_by: str | None = None, qpu: str | None = None
    ) -> dict[str, Any]:
        """Book ``qpu`` (None: every bookable QPU, upstream's only mode). ``booked_by`` is ignored:
        the booking is the caller's."""
        booking = self._client.call(self._aio.bookings.create, qpu, _instant(start_time), _instant(end_time))
        return booking.to_dict()

    def update_time_slot(
        self, slot_id: str, start_time: str | datetime | None = None, end_time: str | datetime | None = None
    ) -> dict[str, Any]:
        booking = self._client.call(
            self._aio.bookings.update,
            slot_id,
            start=_instant(start_time) if start_time is not None else None,
            end=_instant(end_time) if end_time is not None else None,
        )
        return booking.to_dict()

    def delete_time_slot(self, slot_id: str) -> None:
        self._client.call(self._aio.bookings.delete, slot_id)

    # -- QPU time requests -----------------------------------------------------------------

    def list_time_requests(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self._client.call(self._aio.time_requests.list)]

    def create_time_request(self, seconds: float, requested_reason: str | None = None) -> dict[str, Any]:
        reason = requested_reason or "requested from the Python client"
        return self._client.call(self._aio.time_requests.create, seconds, reason).to_dict()

    def update_time_request(self, request_id: str, status: str, rejection_reason: str | None = None) -> dict[str, Any]:
        """Superusers: ``status`` ``approved`` or ``rejected`` (a rejection needs a reason)."""
        requests = self._aio.admin.time_requests
        if status == "approved":
            return self._client.call(requests.approve, request_id).to_dict()
        if status == "rejected":
            return self._client.call(requests.reject, request_id, rejection_reason or "").to_dict()
        raise InvalidInputError(f"status must be 'approved' or 'rejected', not {status!r}")

    # -- users (superusers) ----------------------------------------------------------------

    def list_users(self) -> list[dict[str, Any]]:
        return [u.to_dict() for u in self._client.call(self._aio.admin.users.list)]

    def allocate_qpu_time(self, user_id: str, seconds: float) -> dict[str, Any]:
        """Set (not add) the user's balance to ``seconds``, as upstream did; returns the user."""
        self._client.call(self._aio.admin.users.set_balance, user_id, seconds, reason="allocate_qpu_time")
        return self._client.call(self._aio.admin.users.get, user_id).to_dict()

    # -- auth ------------------------------------------------------------------------------

    def auth_with_password(self, identity: str, password: str) -> dict[str, Any]:
        """Sign in with e-mail and password; later calls use that session.

        Returns upstream's shape ``{"token": <session token>, "record": <user>}``.
        """
        account = self._client.call(self._aio.sign_in, identity, password)
        return {"token": self._aio.session_token, "record": account.to_dict()}

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> QPIClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
