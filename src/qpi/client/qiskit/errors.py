"""Errors that are both QPI errors and Qiskit errors, so either ``except`` clause catches them."""

from __future__ import annotations

from qiskit.providers.exceptions import JobError as QiskitJobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.providers.exceptions import QiskitBackendNotFoundError

from qpi.client.errors import JobCancelledError, JobFailedError, NotFoundError, WaitTimeoutError

__all__ = ["BackendNotFoundError", "QPIJobCancelledError", "QPIJobFailedError", "QPIWaitTimeoutError"]


class _PlainMessage:
    """Qiskit's ``__str__`` quotes the message and its ``__init__`` assigns ``message``, which QPI
    derives from ``args``: the message is shown as is and the assignment is absorbed."""

    args: tuple[object, ...]

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    @message.setter
    def message(self, value: str) -> None:  # QiskitError.__init__ sets it; args already hold it
        return


class BackendNotFoundError(_PlainMessage, NotFoundError, QiskitBackendNotFoundError):  # type: ignore[misc]
    """No QPU with that name or id."""


class QPIJobFailedError(_PlainMessage, JobFailedError, QiskitJobError):  # type: ignore[misc]
    """The job failed; ``failure_reason`` and ``error_message`` are the server's."""


class QPIJobCancelledError(_PlainMessage, JobCancelledError, QiskitJobError):  # type: ignore[misc]
    """The job was cancelled."""


class QPIWaitTimeoutError(_PlainMessage, WaitTimeoutError, QiskitJobTimeoutError):  # type: ignore[misc]
    """Waiting timed out; the job keeps running."""
