"""What happens to a job after a verdict, a rejection, a failed send or a driver result (§4.3, L6, F1, J6).

Every function returns an :class:`Outcome`: the state to CAS to (``None`` = no state change) and the
side effects the caller performs in the same transaction (close the lease, restore the attempt, count a
rejection, charge ``billable_ms``, store the result in ``late_results``) or after the commit (send
``CancelJob``, send ``ResultAck``). The caller records the failure reason, timestamps and the job event.

The QPU's policy comes in as a :class:`RetryPolicy`: ``on_driver_loss`` already resolved from ``auto``
(:func:`~qpi.server.scheduling.capacity.resolve_on_driver_loss`), the effective ``max_attempts`` and the
server's ``job_queue_ttl``.

The outcome table (§4.3):

=============================  =========================================  ====================================
verdict / event                ``requeue`` QPU (simulator)                ``fail`` QPU (hardware)
=============================  =========================================  ====================================
send failed (T7)               pending, attempt restored                  same
``JobRejected`` (T7)           pending, ``rejections += 1``               same
``undelivered`` (L1)           ``CancelJob(accept_timeout)`` + requeue    same
``driver_lost``/``disabled``   requeue                                    failed ``driver_lost``/``disabled``
retryable error result         requeue, else failed with its code         failed with its code (charged)
``timeout`` (L4)               failed ``server_timeout`` + ``CancelJob``  same
=============================  =========================================  ====================================

"requeue" means T8 while ``attempt - rejections < max_attempts`` (L6), else T9
``max_attempts_exceeded`` (or T6 with the error code for a retryable result); a requeue that would
pass ``submitted_at + job_queue_ttl`` becomes ``queue_expired`` (T11). Ten rejections fail a job with
``max_attempts_exceeded``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from qpi.server.scheduling._time import require_aware
from qpi.server.scheduling.leases import Verdict
from qpi.server.scheduling.settings import MAX_REJECTIONS, LossPolicy

__all__ = [
    "RETRYABLE_ERRORS",
    "SERVER_FAILURE_REASONS",
    "AckOutcome",
    "CancelReason",
    "JobFacts",
    "JobState",
    "Outcome",
    "ResultStatus",
    "RetryPolicy",
    "fence_ok",
    "is_retryable",
    "loss_outcome",
    "may_requeue",
    "queue_expired",
    "rejection_outcome",
    "result_outcome",
    "send_failed_outcome",
]

JobState = Literal["pending", "dispatched", "running", "completed", "failed", "cancelled"]
CancelReason = Literal["user", "timeout", "stale", "accept_timeout"]
AckOutcome = Literal["recorded", "duplicate", "stale"]
ResultStatus = Literal["completed", "failed", "cancelled"]

#: Driver error codes meaning "this attempt produced nothing; it may run again" (driver-protocol §3.4).
RETRYABLE_ERRORS = frozenset({"executor_unavailable", "driver_shutdown"})

#: Failure reasons set by the server; never charged (§1.3).
SERVER_FAILURE_REASONS = frozenset(
    {
        "driver_lost",
        "driver_disabled",
        "server_timeout",
        "max_attempts_exceeded",
        "protocol_error",
        "queue_expired",
    }
)


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The QPU's retry rules, resolved for use."""

    on_driver_loss: LossPolicy
    max_attempts: int
    job_queue_ttl: timedelta


class JobFacts(msgspec.Struct, frozen=True, kw_only=True):
    """The job row as the outcome rules need it.

    ``result_recorded``: a driver result of the current ``attempt`` was already applied (T5/T6, a
    retryable requeue, or the charge of a cancelled run). ``cancelled_in_flight``: the job was cancelled
    while ``dispatched``/``running`` (T13, ``cancel_sent_at`` set), so its current attempt's result is
    still charged (J6, P-4.7).
    """

    job_id: str
    state: JobState
    attempt: int
    submitted_at: datetime
    rejections: int = 0
    lease_driver: str | None = None
    result_recorded: bool = False
    cancelled_in_flight: bool = False


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """A decision; see the module docs. ``loss_reason`` is stored as ``last_loss_reason`` on a requeue."""

    to_state: JobState | None = None
    failure_reason: str | None = None
    send_cancel: CancelReason | None = None
    charge: bool = False
    close_lease: bool = False
    restore_attempt: bool = False
    count_rejection: bool = False
    loss_reason: str | None = None
    ack: AckOutcome | None = None
    late_result: bool = False


_NO_CHANGE = Outcome()


def is_retryable(error_code: str | None) -> bool:
    """T6/T8: is this driver error code retryable (``executor_unavailable``, ``driver_shutdown``)?"""
    return error_code in RETRYABLE_ERRORS


def may_requeue(attempt: int, rejections: int, max_attempts: int) -> bool:
    """L6: a job may be requeued while ``attempt - rejections < max_attempts``."""
    return attempt - rejections < max_attempts


def queue_expired(submitted_at: datetime, job_queue_ttl: timedelta, now: datetime) -> bool:
    """T11: ``now >= submitted_at + job_queue_ttl`` with the TTL on (> 0)."""
    return job_queue_ttl > timedelta(0) and now >= submitted_at + job_queue_ttl


def fence_ok(job: JobFacts, sender: str, attempt: int) -> bool:
    """F1: the sender is the lease driver, the attempt is current, the job ``dispatched``/``running``."""
    return job.state in ("dispatched", "running") and sender == job.lease_driver and attempt == job.attempt


def send_failed_outcome() -> Outcome:
    """T7, the send of the claimed attempt raised locally: undo the claim completely (attempt restored)."""
    return Outcome(to_state="pending", restore_attempt=True, close_lease=True)


def rejection_outcome(job: JobFacts, sender: str, attempt: int) -> Outcome:
    """T7 on ``JobRejected(n)`` (only while ``dispatched``): back to pending with ``rejections += 1``.

    The tenth rejection fails the job with ``max_attempts_exceeded`` (L6). A stale rejection changes nothing.
    """
    if job.state != "dispatched" or not fence_ok(job, sender, attempt):
        return _NO_CHANGE
    if job.rejections + 1 >= MAX_REJECTIONS:
        return Outcome(
            to_state="failed", failure_reason="max_attempts_exceeded", count_rejection=True, close_lease=True
        )
    return Outcome(to_state="pending", count_rejection=True, close_lease=True)


def _requeue(
    job: JobFacts,
    policy: RetryPolicy,
    now: datetime,
    *,
    loss_reason: str,
    exhausted: Outcome,
    send_cancel: CancelReason | None = None,
) -> Outcome:
    if not may_requeue(job.attempt, job.rejections, policy.max_attempts):
        return msgspec.structs.replace(exhausted, send_cancel=send_cancel)
    if queue_expired(job.submitted_at, policy.job_queue_ttl, now):
        return Outcome(to_state="failed", failure_reason="queue_expired", send_cancel=send_cancel, close_lease=True)
    return Outcome(to_state="pending", loss_reason=loss_reason, send_cancel=send_cancel, close_lease=True)


def loss_outcome(verdict: Verdict, job: JobFacts, policy: RetryPolicy, now: datetime) -> Outcome:
    """§4.3 for a verdict of :func:`~qpi.server.scheduling.leases.classify_lease` (never charged)."""
    require_aware(now)
    if verdict == "ok":
        return _NO_CHANGE
    if verdict == "timeout":  # T10, never requeued
        return Outcome(to_state="failed", failure_reason="server_timeout", send_cancel="timeout", close_lease=True)
    max_exceeded = Outcome(to_state="failed", failure_reason="max_attempts_exceeded", close_lease=True)
    if verdict == "undelivered":  # never ran: requeued whatever the policy
        return _requeue(
            job, policy, now, loss_reason="undelivered", exhausted=max_exceeded, send_cancel="accept_timeout"
        )
    if policy.on_driver_loss == "requeue":
        return _requeue(job, policy, now, loss_reason=verdict, exhausted=max_exceeded)
    return Outcome(to_state="failed", failure_reason=verdict, close_lease=True)  # T9, at-most-once


def result_outcome(
    job: JobFacts,
    *,
    sender: str,
    attempt: int,
    status: ResultStatus,
    error_code: str | None,
    policy: RetryPolicy,
    now: datetime,
) -> Outcome:
    """F1-F3, J6, T5/T6/T8: what a ``JobResult(attempt, status, error)`` from ``sender`` does.

    - Current attempt of an in-flight job: ``completed`` → T5; ``failed`` with a retryable code on a
      ``requeue`` QPU → requeue while the limit allows (not charged), else T6 with that code (charged);
      any other failure → T6 (charged). A ``cancelled`` status the server did not ask for fails the job
      with ``protocol_error`` (not charged). Ack ``recorded``.
    - Current attempt of a job cancelled in flight (T13): charged, lease closed, state unchanged, ack
      ``recorded`` (``duplicate`` once recorded).
    - A repeat of a recorded attempt: ack ``duplicate``, nothing else.
    - Anything else is stale: ack ``stale`` and keep the body in ``late_results`` (not charged).

    An unknown job id is the caller's case (F4: log and ack, nothing stored).
    """
    require_aware(now)
    current = sender == job.lease_driver and attempt == job.attempt
    if current and job.result_recorded:
        return Outcome(ack="duplicate")
    if fence_ok(job, sender, attempt):
        done = Outcome(ack="recorded", close_lease=True)
        if status == "completed":
            return msgspec.structs.replace(done, to_state="completed", charge=True)
        if status == "cancelled":
            return msgspec.structs.replace(done, to_state="failed", failure_reason="protocol_error")
        code = error_code or "executor_error"
        failed = msgspec.structs.replace(done, to_state="failed", failure_reason=code, charge=True)
        if is_retryable(code) and policy.on_driver_loss == "requeue":
            requeue = _requeue(job, policy, now, loss_reason=code, exhausted=failed)
            return msgspec.structs.replace(requeue, ack="recorded")
        return failed
    if current and job.state == "cancelled" and job.cancelled_in_flight:
        return Outcome(ack="recorded", charge=True, close_lease=True)
    return Outcome(ack="stale", late_result=True)
