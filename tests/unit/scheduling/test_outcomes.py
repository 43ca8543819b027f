"""The outcome table §4.3, the attempt limit L6, the TTL interaction and the retryable-result rule (T6/T8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.server.scheduling import (
    MAX_REJECTIONS,
    JobFacts,
    Outcome,
    RetryPolicy,
    is_retryable,
    loss_outcome,
    may_requeue,
    queue_expired,
    rejection_outcome,
    result_outcome,
    send_failed_outcome,
)

NOW = datetime(2026, 7, 24, 12, 0, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def policy(mode: str, max_attempts: int = 3, ttl: timedelta = WEEK) -> RetryPolicy:
    return RetryPolicy(on_driver_loss=mode, max_attempts=max_attempts, job_queue_ttl=ttl)  # type: ignore[arg-type]


def job(
    attempt: int = 1, rejections: int = 0, state: str = "running", age: timedelta = timedelta(minutes=5)
) -> JobFacts:
    return JobFacts(
        job_id="j",
        state=state,  # type: ignore[arg-type]
        attempt=attempt,
        rejections=rejections,
        submitted_at=NOW - age,
        lease_driver="d1",
    )


REQUEUED = Outcome(to_state="pending", close_lease=True, loss_reason="driver_lost")


@pytest.mark.parametrize(
    ("verdict", "mode", "facts", "expected"),
    [
        ("ok", "requeue", job(), Outcome()),
        ("ok", "fail", job(), Outcome()),
        ("driver_lost", "requeue", job(1), REQUEUED),
        ("driver_lost", "requeue", job(2), REQUEUED),
        (
            "driver_lost",
            "requeue",
            job(3),
            Outcome(to_state="failed", failure_reason="max_attempts_exceeded", close_lease=True),
        ),
        # Rejections do not use up the budget: attempt 3 with 1 rejection is only the second real try.
        ("driver_lost", "requeue", job(3, rejections=1), REQUEUED),
        (
            "driver_lost",
            "fail",
            job(1),
            Outcome(to_state="failed", failure_reason="driver_lost", close_lease=True),
        ),
        (
            "driver_disabled",
            "fail",
            job(1),
            Outcome(to_state="failed", failure_reason="driver_disabled", close_lease=True),
        ),
        (
            "undelivered",
            "fail",
            job(1, state="dispatched"),
            Outcome(to_state="pending", send_cancel="accept_timeout", close_lease=True, loss_reason="undelivered"),
        ),
        (
            "undelivered",
            "requeue",
            job(3, state="dispatched"),
            Outcome(
                to_state="failed",
                failure_reason="max_attempts_exceeded",
                send_cancel="accept_timeout",
                close_lease=True,
            ),
        ),
        (
            "timeout",
            "requeue",
            job(1),
            Outcome(to_state="failed", failure_reason="server_timeout", send_cancel="timeout", close_lease=True),
        ),
        (
            "timeout",
            "fail",
            job(1),
            Outcome(to_state="failed", failure_reason="server_timeout", send_cancel="timeout", close_lease=True),
        ),
        # A requeue that would pass the TTL becomes queue_expired (T11 instead of T8).
        (
            "driver_lost",
            "requeue",
            job(1, age=WEEK),
            Outcome(to_state="failed", failure_reason="queue_expired", close_lease=True),
        ),
        (
            "undelivered",
            "fail",
            job(1, state="dispatched", age=WEEK + timedelta(seconds=1)),
            Outcome(
                to_state="failed",
                failure_reason="queue_expired",
                send_cancel="accept_timeout",
                close_lease=True,
            ),
        ),
    ],
)
def test_loss_outcome_table(verdict: str, mode: str, facts: JobFacts, expected: Outcome) -> None:
    assert loss_outcome(verdict, facts, policy(mode), NOW) == expected  # type: ignore[arg-type]


def test_ttl_zero_never_expires() -> None:
    old = job(1, age=timedelta(days=365))
    assert loss_outcome("driver_lost", old, policy("requeue", ttl=timedelta(0)), NOW).to_state == "pending"
    assert not queue_expired(old.submitted_at, timedelta(0), NOW)
    assert queue_expired(NOW - WEEK, WEEK, NOW)
    assert not queue_expired(NOW - WEEK + timedelta(microseconds=1), WEEK, NOW)


def test_attempt_limit() -> None:
    assert may_requeue(2, 0, 3)
    assert not may_requeue(3, 0, 3)
    assert may_requeue(12, 10, 3)


def test_send_failure_undoes_the_claim() -> None:
    assert send_failed_outcome() == Outcome(to_state="pending", restore_attempt=True, close_lease=True)


def test_rejections_requeue_until_the_tenth_fails_the_job() -> None:
    dispatched = job(1, state="dispatched")
    assert rejection_outcome(dispatched, "d1", 1) == Outcome(to_state="pending", count_rejection=True, close_lease=True)
    ninth = job(10, rejections=MAX_REJECTIONS - 1, state="dispatched")
    assert rejection_outcome(ninth, "d1", 10) == Outcome(
        to_state="failed", failure_reason="max_attempts_exceeded", count_rejection=True, close_lease=True
    )
    assert rejection_outcome(dispatched, "d2", 1) == Outcome()  # another driver: stale
    assert rejection_outcome(dispatched, "d1", 0) == Outcome()  # an older attempt: stale
    assert rejection_outcome(job(1, state="running"), "d1", 1) == Outcome()  # started jobs cannot be rejected


def result(facts: JobFacts, mode: str, status: str = "failed", code: str | None = None, sender: str = "d1") -> Outcome:
    return result_outcome(
        facts,
        sender=sender,
        attempt=facts.attempt,
        status=status,
        error_code=code,
        policy=policy(mode),
        now=NOW,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("code", ["executor_unavailable", "driver_shutdown"])
def test_retryable_error_result(code: str) -> None:
    assert is_retryable(code)
    # Simulator QPU: requeued, not charged, while attempts remain...
    assert result(job(1), "requeue", code=code) == Outcome(
        to_state="pending", close_lease=True, loss_reason=code, ack="recorded"
    )
    # ...then failed with that code, charged (it is a driver result).
    assert result(job(3), "requeue", code=code) == Outcome(
        to_state="failed", failure_reason=code, charge=True, close_lease=True, ack="recorded"
    )
    # Hardware QPU: the attempt was accepted, so it fails at once with that code.
    assert result(job(1), "fail", code=code) == Outcome(
        to_state="failed", failure_reason=code, charge=True, close_lease=True, ack="recorded"
    )
    # Past the TTL the requeue becomes queue_expired (not charged).
    assert result(job(1, age=WEEK), "requeue", code=code) == Outcome(
        to_state="failed", failure_reason="queue_expired", close_lease=True, ack="recorded"
    )


@pytest.mark.parametrize("code", ["executor_error", "timeout", "worker_crashed", "too_many_qubits", None])
def test_non_retryable_failure_is_charged_on_any_qpu(code: str | None) -> None:
    assert not is_retryable(code)
    for mode in ("requeue", "fail"):
        out = result(job(1), mode, code=code)
        assert (out.to_state, out.failure_reason, out.charge, out.ack) == (
            "failed",
            code or "executor_error",
            True,
            "recorded",
        )


def test_completed_and_unexpected_cancelled_results() -> None:
    assert result(job(1, state="dispatched"), "fail", status="completed") == Outcome(
        to_state="completed", charge=True, close_lease=True, ack="recorded"
    )
    assert result(job(1), "fail", status="cancelled") == Outcome(
        to_state="failed", failure_reason="protocol_error", close_lease=True, ack="recorded"
    )


def test_cancelled_while_pending_never_charges_an_old_attempt() -> None:
    # Lost on attempt 1, requeued, then cancelled while pending (T12): attempt 1's result is stale.
    facts = JobFacts(job_id="j", state="cancelled", attempt=1, submitted_at=NOW, lease_driver="d1")
    assert result(facts, "requeue", status="completed") == Outcome(ack="stale", late_result=True)
