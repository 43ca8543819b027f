"""The job record served by the API (``api.md`` §3.4) and the served result document (§3.5)."""

from __future__ import annotations

from typing import Any

import msgspec

from qpi.server.api.common import fmt_ts, seconds
from qpi.server.api.dto import QpuRef
from qpi.server.store import JobRow, legacy_status
from qpi.server.store.common import json_loads

__all__ = ["JobOut", "job_out", "served_results"]


class JobErrorOut(msgspec.Struct):
    code: str
    message: str


class QueueOut(msgspec.Struct):
    position: int
    jobs_ahead: int
    reason: str
    detail: dict[str, Any] | None
    since: str
    text: str = ""


class JobOut(msgspec.Struct, omit_defaults=True):
    id: str
    name: str | None
    status: str
    state: str
    qpu: QpuRef
    qpu_auto: bool
    owner: str | None
    created: str | None
    updated: str | None
    submitted_at: str | None
    dispatched_at: str | None
    accepted_at: str | None
    started_at: str | None
    requeued_at: str | None
    finished_at: str | None
    attempt: int
    max_attempts: int
    shots: int
    num_circuits: int
    meas_level: int
    queue: QueueOut | None
    failure_reason: str | None
    error: JobErrorOut | None
    duration: float | None
    qpu_seconds: float
    driver: str | None
    tags: list[str]
    cancelled_by: str | None
    cancel_sent_at: str | None
    # omitted from list items unless full=true; raw JSON from the store
    payload: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    results: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


def job_out(job: JobRow, *, queue: dict[str, Any] | None, full: bool) -> JobOut:
    error = None
    if job.failure_reason and job.state in ("failed", "cancelled"):
        error = JobErrorOut(code=job.failure_reason, message=job.error_message or job.failure_reason)
    out = JobOut(
        id=job.id,
        name=job.name,
        status=legacy_status(job.state),
        state=job.state,
        qpu=QpuRef(id=job.qpu_id, name=job.qpu_name),
        qpu_auto=job.qpu_auto,
        owner=job.owner,
        created=fmt_ts(job.created),
        updated=fmt_ts(job.updated),
        submitted_at=fmt_ts(job.submitted_at),
        dispatched_at=fmt_ts(job.dispatched_at),
        accepted_at=fmt_ts(job.accepted_at),
        started_at=fmt_ts(job.started_at),
        requeued_at=fmt_ts(job.requeued_at),
        finished_at=fmt_ts(job.finished_at),
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        shots=job.shots,
        num_circuits=job.num_circuits,
        meas_level=job.meas_level,
        queue=QueueOut(**queue) if queue is not None and job.state == "pending" else None,
        failure_reason=job.failure_reason if job.state == "failed" else None,
        error=error,
        duration=seconds(job.duration_ms),
        qpu_seconds=seconds(job.charged_ms) or 0.0,
        driver=job.lease_driver,
        tags=list(job.tags),
        cancelled_by=job.cancelled_by,
        cancel_sent_at=fmt_ts(job.cancel_sent_at),
    )
    if full:
        out.payload = msgspec.Raw(job.payload.encode()) if job.payload else {}  # type: ignore[assignment]
        out.results = served_results(job)
    return out


def served_results(job: JobRow) -> dict[str, Any] | None:
    """The result document as served: the stored one plus the ◆ keys of ``executors.md`` §2.3."""
    if job.results is None:
        return None
    doc: dict[str, Any] = json_loads(job.results)
    if not doc.get("success", True) and "results" not in doc:
        return doc  # a failed job's {success: false, status: "ERROR", …}
    doc["backend_name"] = job.qpu_name
    doc["backend"] = job.qpu_name
    timings = json_loads(job.timings) if job.timings else None
    if isinstance(timings, dict) and "summary" in timings:
        doc["timings"] = timings["summary"]
    experiments = doc.get("results") or []
    if experiments:
        first = experiments[0].get("data", {})
        if "counts" in first:
            doc["counts"] = first["counts"]
        if "memory" in first:
            doc["memory"] = first["memory"]
    doc["circuit_results"] = [
        {
            k: v
            for k, v in {
                "name": e.get("header", {}).get("name"),
                "shots": e.get("shots"),
                "header": e.get("header"),
                "counts": e.get("data", {}).get("counts"),
                "memory": e.get("data", {}).get("memory"),
            }.items()
            if v is not None
        }
        for e in experiments
    ]
    return doc
