"""Applying driver job messages (F1–F4, J6): rejections, results, malformed results, held lists.

Decisions come from the pure rules of ``server/scheduling/outcomes.py``; this module reads the
job row inside the listener's transaction, calls them, and hands the ``Outcome`` to the store.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import msgspec

from qpi.protocol.messages import JobRef, JobRejectedBody, JobResultBody, UnknownMessage
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.links import Link
from qpi.server.scheduling import (
    AckOutcome,
    JobFacts,
    RetryPolicy,
    billable_ms,
    effective_max_attempts,
    is_retryable,
    rejection_outcome,
    resolve_on_driver_loss,
    result_outcome,
)
from qpi.server.store import EventRow
from qpi.server.store.common import json_dumps
from qpi.server.store.transitions import ResultFacts, failed_results_doc, timings_doc

__all__ = ["ResultHandler", "job_facts", "retry_policy"]

logger = logging.getLogger(__name__)

_NO_RETRY = RetryPolicy(on_driver_loss="fail", max_attempts=1, job_queue_ttl=timedelta(0))


def job_facts(row: dict[str, Any], *, result_recorded: bool = False) -> JobFacts:
    return JobFacts(
        job_id=row["id"],
        state=row["state"],
        attempt=int(row["attempt"]),
        submitted_at=from_us(row["submitted_at"]),
        rejections=int(row["rejections"]),
        lease_driver=row["lease_driver"],
        result_recorded=result_recorded,
        cancelled_in_flight=row["state"] == "cancelled" and row["cancel_sent_at"] is not None,
    )


async def retry_policy(ctx: ServerContext, qpu_id: str | None) -> RetryPolicy:
    """The QPU's ``on_driver_loss`` (``auto`` resolved from its drivers' kinds) and attempt limit."""
    settings = ctx.settings
    if qpu_id is None:
        return RetryPolicy(
            on_driver_loss="fail", max_attempts=settings.max_attempts, job_queue_ttl=settings.job_queue_ttl
        )
    qpu = await ctx.store.qpus.get(qpu_id)
    drivers = await ctx.store.drivers.for_qpu(qpu_id)
    kinds = [d.kind for d in drivers if d.role == "process"]
    from qpi.server.scheduling import is_simulator_qpu, reports_simulator

    simulator = is_simulator_qpu(kinds, custom_reports_simulator=reports_simulator(qpu.device_info if qpu else None))
    policy = resolve_on_driver_loss(qpu.on_driver_loss if qpu else "auto", settings.on_driver_loss, simulator)
    return RetryPolicy(
        on_driver_loss=policy,
        max_attempts=effective_max_attempts(qpu.max_attempts if qpu else None, settings),
        job_queue_ttl=settings.job_queue_ttl,
    )


class ResultHandler:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    @property
    def t(self) -> Any:
        return self.ctx.store.transitions

    async def rejected(self, link: Link, p: JobRejectedBody, now_us: int) -> list[EventRow]:
        row = await self.t.facts(p.job_id, lock=True)
        if row is None:
            return []
        outcome = rejection_outcome(job_facts(row), link.driver_id, p.attempt)
        if outcome.to_state is None:
            logger.info("driver=%s stale_message JobRejected job_id=%s attempt=%d", link.driver_id, p.job_id, p.attempt)
            return []
        logger.info("driver=%s job_id=%s attempt=%d rejected (%s)", link.driver_id, p.job_id, p.attempt, p.reason)
        applied = await self.t.apply(
            row, outcome, now_us=now_us, actor="listener", driver_id=link.driver_id, attempt=p.attempt
        )
        return list(applied.events)

    async def result(self, link: Link, p: JobResultBody, raw: bytes, now_us: int) -> tuple[AckOutcome, list[EventRow]]:
        row = await self.t.facts(p.job_id, lock=True)
        if row is None:
            logger.warning(
                "driver=%s result for unknown job_id=%s attempt=%d; acked", link.driver_id, p.job_id, p.attempt
            )
            return "stale", []
        recorded = p.attempt == int(row["attempt"]) and await self.t.result_recorded(p.job_id, p.attempt)
        error_code = p.error.code if p.error else None
        # the QPU's policy matters only for a retryable error; skip its two reads otherwise
        policy = await retry_policy(self.ctx, row["qpu_id"]) if is_retryable(error_code) else _NO_RETRY
        outcome = result_outcome(
            job_facts(row, result_recorded=recorded),
            sender=link.driver_id,
            attempt=p.attempt,
            status=p.status,
            error_code=error_code,
            policy=policy,
            now=from_us(now_us),
        )
        facts = self._facts(row, p, now_us)
        if outcome.late_result:
            facts = ResultFacts(late_body=msgspec.json.encode(p).decode())
        applied = await self.t.apply(
            row, outcome, now_us=now_us, actor="listener", driver_id=link.driver_id, facts=facts, attempt=p.attempt
        )
        if outcome.ack == "stale":
            self.ctx.metrics.protocol_stale.inc()
        logger.info(
            "driver=%s job_id=%s attempt=%d result %s → %s (ack %s, charged %d ms)",
            link.driver_id,
            p.job_id,
            p.attempt,
            p.status,
            outcome.to_state or row["state"],
            outcome.ack,
            applied.charged_ms,
        )
        return outcome.ack or "stale", list(applied.events)

    def _facts(self, row: dict[str, Any], p: JobResultBody, now_us: int) -> ResultFacts:
        t = p.timings
        dispatched = row["dispatched_at"]
        started = row["started_at"]
        charge = billable_ms(
            t.billable_s if (t.billable_s or t.total_s) else None,
            from_us(now_us),
            from_us(dispatched) if dispatched is not None else from_us(now_us),
            from_us(started) if started is not None else None,
        )
        timings = timings_doc(msgspec.to_builtins(t), submitted_us=int(row["submitted_at"]), dispatched_us=dispatched)
        if p.status == "completed" and p.result is not None:
            doc = msgspec.to_builtins(p.result)
            doc["job_id"] = doc["qobj_id"] = row["id"]
            doc["date"] = _iso(now_us)
            if p.warnings:
                doc["warnings"] = list(p.warnings)
            return ResultFacts(
                billable_ms=charge, results_json=json_dumps(doc), timings_json=timings, warnings=tuple(p.warnings)
            )
        message = p.error.message if p.error else f"the driver reported {p.status}"
        return ResultFacts(
            billable_ms=charge,
            timings_json=timings,
            error_message=message,
            results_json=failed_results_doc(row["id"], row["qpu_name"], message) if p.status == "failed" else None,
        )

    async def malformed(self, link: Link, msg: UnknownMessage, now_us: int, out: list[Any], events: list[Any]) -> None:
        """P-3.10: an invalid ``JobResult`` whose job and attempt can be read fails that job (protocol_error)."""
        try:
            ref = msgspec.msgpack.decode(msg.payload, type=JobRef)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        from qpi.protocol.messages import ResultAck, ResultAckBody
        from qpi.server.scheduling import Outcome

        row = await self.t.facts(ref.job_id, lock=True)
        ack: AckOutcome = "stale"
        if (
            row is not None
            and row["lease_driver"] == link.driver_id
            and int(row["attempt"]) == ref.attempt
            and row["state"] in ("dispatched", "running")
        ):
            outcome = Outcome(to_state="failed", failure_reason="protocol_error", close_lease=True, ack="recorded")
            applied = await self.t.apply(
                row,
                outcome,
                now_us=now_us,
                actor="listener",
                driver_id=link.driver_id,
                facts=ResultFacts(error_message=f"the driver's result could not be decoded: {msg.error}"),
            )
            events.extend(applied.events)
            ack = "recorded"
        out.append(
            (
                link.driver_id,
                ResultAck(
                    driver=link.driver_id, payload=ResultAckBody(job_id=ref.job_id, attempt=ref.attempt, outcome=ack)
                ),
            )
        )

    async def unwanted(self, held: list[JobRef], driver_id: str) -> list[JobRef]:
        """Held attempts the server no longer wants (cancelled, finished, superseded): ``Welcome.cancel``."""
        out = []
        for ref in held:
            row = await self.t.facts(ref.job_id)
            wanted = (
                row is not None
                and row["lease_driver"] == driver_id
                and int(row["attempt"]) == ref.attempt
                and row["state"] in ("dispatched", "running")
            )
            if not wanted:
                out.append(ref)
        return out


def _iso(us: int) -> str:
    from qpi.server.api.common import fmt_ts

    return fmt_ts(us) or ""
