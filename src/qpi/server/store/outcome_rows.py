"""What applying an ``Outcome`` writes to a job row: the ``SET`` clause, the stored documents, the facts.

Pure functions and data; :class:`~qpi.server.store.transitions.Transitions` runs the statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qpi.server.scheduling import Outcome
from qpi.server.store.common import json_dumps
from qpi.server.store.rows import EventRow

__all__ = ["Applied", "ResultFacts", "failed_results_doc", "legacy", "outcome_sets", "timings_doc"]


def legacy(state: str) -> str:
    return "running" if state == "dispatched" else state


@dataclass(frozen=True)
class ResultFacts:
    """What a driver result brings to an outcome: the body to store and the time to charge."""

    billable_ms: int = 0
    results_json: str | None = None
    timings_json: str | None = None
    error_message: str | None = None
    late_body: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass
class Applied:
    changed: bool = False
    events: list[EventRow] = field(default_factory=list)
    charged_ms: int = 0


def outcome_sets(outcome: Outcome, facts: ResultFacts, now_us: int, charged_ms: int) -> tuple[str, list[Any]]:
    """The ``SET`` clause (with ``{}`` placeholders) and its values that move a job row to ``outcome.to_state``."""
    parts: list[str] = ["state = {}"]
    args: list[Any] = [outcome.to_state]
    if outcome.close_lease:
        parts.append("lease_open = FALSE")
    if outcome.to_state == "pending":
        if outcome.restore_attempt:
            parts.append("attempt = attempt - 1")
        if outcome.count_rejection:
            parts.append("rejections = rejections + 1")
        if outcome.loss_reason:
            parts += ["requeued_at = {}", "last_loss_reason = {}"]
            args += [now_us, outcome.loss_reason]
        parts += ["accepted_at = NULL", "started_at = NULL"]
        return ", ".join(parts), args
    parts.append("finished_at = {}")
    args.append(now_us)
    if outcome.count_rejection:
        parts.append("rejections = rejections + 1")
    if outcome.failure_reason:
        parts += ["failure_reason = {}", "error_message = {}"]
        args += [outcome.failure_reason, facts.error_message or outcome.failure_reason]
    if facts.results_json is not None:
        parts.append("results = {}")
        args.append(facts.results_json)
    if facts.timings_json is not None:
        parts.append("timings = {}")
        args.append(facts.timings_json)
    if outcome.charge:
        parts += ["duration_ms = {}", "charged_ms = charged_ms + {}"]
        args += [facts.billable_ms, charged_ms]
    return ", ".join(parts), args


def failed_results_doc(job_id: str, backend: str, message: str) -> str:
    """A failed job's ``results`` (api.md §3.5): clients reading ``results.error`` keep working."""
    return json_dumps(
        {"success": False, "status": "ERROR", "job_id": job_id, "backend_name": backend, "error": message}
    )


def timings_doc(driver_timings: dict[str, Any] | None, *, submitted_us: int, dispatched_us: int | None) -> str:
    """The stored timings: the driver's ``JobTimings`` and the server's summary (api.md §3.5)."""
    t = driver_timings or {}
    summary = {
        "queued_s": round(((dispatched_us or submitted_us) - submitted_us) / 1e6, 6),
        "execution_s": round(
            float(t.get("transpile_s", 0)) + float(t.get("compile_s", 0)) + float(t.get("execute_s", 0)), 6
        ),
        "post_processing_s": round(float(t.get("process_s", 0)), 6),
    }
    return json_dumps({"driver": t, "summary": summary})
