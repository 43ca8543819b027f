"""Jobs: :class:`JobState`, :class:`QueueInfo`, :class:`Job` (``api.md`` §3.4, ``scheduling.md`` §5)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from qpi.client.models._base import Model, convert, obj

__all__ = ["FINAL", "Job", "JobState", "QueueInfo", "job_from_api", "queue_from_api"]


class JobState(enum.StrEnum):
    """The exact state of a job; ``unknown`` stands for any state a newer server adds."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> JobState:
        try:
            return cls(str(value))
        except ValueError:
            return cls.UNKNOWN

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL: tuple[JobState, ...] = (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)

_REASON_TEXT = {
    "qpu_disabled": "QPU disabled",
    "no_driver_online": "no driver online",
    "insufficient_balance": "insufficient qpu_seconds",
    "qpu_booked": "QPU booked by another user",
    "qpu_busy": "waiting for the running job to finish",
    "dispatching": "being dispatched",
}


class QueueInfo(Model, frozen=True, kw_only=True):
    """Where a pending job stands: ``position`` (1 = next), ``jobs_ahead``, and why it waits."""

    position: int
    jobs_ahead: int
    reason: str
    detail: dict[str, Any] | None = None
    since: datetime | None = None
    server_text: str = ""

    @property
    def text(self) -> str:
        """The waiting reason as a sentence, e.g. ``behind 2 jobs``."""
        if self.server_text:
            return self.server_text
        if self.reason == "behind_jobs":
            return f"behind {self.jobs_ahead} job{'s' if self.jobs_ahead != 1 else ''}"
        if self.reason == "qpu_booked" and self.detail and self.detail.get("until"):
            return f"QPU booked by another user until {self.detail['until']}"
        return _REASON_TEXT.get(self.reason, self.reason.replace("_", " "))


class Job(Model, frozen=True, kw_only=True):
    """A job's metadata (no result payload; use ``jobs.result()``)."""

    id: str
    name: str | None = None
    state: JobState
    status: str
    qpu: str | None = None
    qpu_id: str | None = None
    qpu_auto: bool = False
    owner: str | None = None
    shots: int | None = None
    meas_level: int | None = None
    meas_return: str | None = None
    memory: bool | None = None
    num_circuits: int | None = None
    circuit_names: list[str] | None = None
    tags: list[str] = []
    submitted_at: datetime | None = None
    dispatched_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated: datetime | None = None
    execution_s: float | None = None
    charged_s: float = 0.0
    attempt: int = 0
    max_attempts: int | None = None
    queue: QueueInfo | None = None
    failure_reason: str | None = None
    error: str | None = None
    error_code: str | None = None
    cancelled_by: str | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL

    @property
    def created(self) -> datetime | None:
        return self.submitted_at


def _queue_shape(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    shaped = {k: raw.get(k) for k in ("position", "jobs_ahead", "reason", "detail", "since") if raw.get(k) is not None}
    shaped["server_text"] = raw.get("text") or ""
    return shaped


def queue_from_api(raw: Any) -> QueueInfo | None:
    """The server's ``queue`` object (or a ``job.queue`` event's) → :class:`QueueInfo`."""
    shaped = _queue_shape(raw)
    return None if shaped is None else convert(QueueInfo, shaped, raw)


def job_from_api(raw: dict[str, Any]) -> Job:
    """The server's job record → :class:`Job`."""
    qpu = obj(raw.get("qpu"))
    payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else None
    error = raw.get("error") if isinstance(raw.get("error"), dict) else None
    state = JobState.parse(raw.get("state") or raw.get("status"))
    circuits = payload.get("circuits") if payload else None
    shaped: dict[str, Any] = {
        "id": raw["id"],
        "name": raw.get("name"),
        "state": state.value,
        "status": raw.get("status") or state.value,
        "qpu": qpu.get("name"),
        "qpu_id": qpu.get("id"),
        "qpu_auto": bool(raw.get("qpu_auto", False)),
        "owner": raw.get("owner"),
        "shots": raw.get("shots", payload.get("shots") if payload else None),
        "meas_level": raw.get("meas_level", payload.get("meas_level", 2) if payload else None),
        "meas_return": payload.get("meas_return", "single") if payload else None,
        "memory": bool(payload.get("memory", False)) if payload else None,
        "num_circuits": raw.get("num_circuits", len(circuits) if isinstance(circuits, list) else None),
        "circuit_names": (
            [str(c.get("name", f"circuit-{i}")) for i, c in enumerate(circuits)] if isinstance(circuits, list) else None
        ),
        "tags": list(raw.get("tags") or []),
        "submitted_at": raw.get("submitted_at") or raw.get("created"),
        "dispatched_at": raw.get("dispatched_at"),
        "started_at": raw.get("started_at"),
        "finished_at": raw.get("finished_at"),
        "updated": raw.get("updated"),
        "execution_s": raw.get("duration"),
        "charged_s": raw.get("qpu_seconds") or 0.0,
        "attempt": raw.get("attempt") or 0,
        "max_attempts": raw.get("max_attempts"),
        "queue": _queue_shape(raw.get("queue")) if state is JobState.PENDING else None,
        "failure_reason": raw.get("failure_reason"),
        "error": error.get("message") if error else None,
        "error_code": error.get("code") if error else None,
        "cancelled_by": raw.get("cancelled_by"),
    }
    return convert(Job, shaped, raw)
