"""Recovery examples R1-R10 (``scheduling.md`` §4.7) and the lease rules L0c, L1-L5 and W4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.server.scheduling import (
    JobFacts,
    LeaseDriver,
    LeaseJob,
    Outcome,
    RetryPolicy,
    SchedulerSettings,
    billable_ms,
    cancelled_lease_action,
    charge_ms,
    classify_lease,
    lease_deadline,
    loss_outcome,
    recovery_wakeup,
    result_outcome,
    run_deadline,
)

SETTINGS = SchedulerSettings()  # offline_after 15 s, accept_timeout 10 s, job_timeout 300 s, grace 30 s
BOOT = datetime(2026, 7, 24, 6, 0, 0, tzinfo=UTC)
SIMULATOR = RetryPolicy(on_driver_loss="requeue", max_attempts=3, job_queue_ttl=timedelta(days=7))
HARDWARE = RetryPolicy(on_driver_loss="fail", max_attempts=3, job_queue_ttl=timedelta(days=7))


def t(clock: str) -> datetime:
    hms, _, frac = clock.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 7, 24, h, m, s, int((frac or "0").ljust(6, "0")), tzinfo=UTC)


def running(job_id: str, started: str, attempt: int = 1, **kw: object) -> LeaseJob:
    start = t(started)
    base: dict[str, object] = {
        "job_id": job_id,
        "attempt": attempt,
        "state": "running",
        "dispatched_at": start - timedelta(seconds=1),
        "accepted_at": start - timedelta(milliseconds=500),
        "started_at": start,
        "job_timeout": SETTINGS.job_timeout,
    }
    base.update(kw)
    return LeaseJob(**base)  # type: ignore[arg-type]


def facts(job: LeaseJob, driver: str, rejections: int = 0, **kw: object) -> JobFacts:
    base: dict[str, object] = {
        "job_id": job.job_id,
        "state": job.state,
        "attempt": job.attempt,
        "rejections": rejections,
        "submitted_at": job.dispatched_at - timedelta(minutes=1),
        "lease_driver": driver,
    }
    base.update(kw)
    return JobFacts(**base)  # type: ignore[arg-type]


def verdict(job: LeaseJob, driver: LeaseDriver, now: str, booted: datetime = BOOT) -> str:
    return classify_lease(job, driver, t(now), booted, SETTINGS)


# --- R1-R3: a silent driver --------------------------------------------------------------------
def test_r1_simulator_job_is_requeued_when_its_driver_goes_silent() -> None:
    s1 = running("s1", "09:59:00")
    d3 = LeaseDriver(id="d3", last_seen=t("10:00:00"), last_held_at=t("10:00:00"), enabled=True)
    s1 = LeaseJob(**{**_fields(s1), "named_at": t("10:00:00")})
    assert verdict(s1, d3, "10:00:14.999") == "ok"
    assert verdict(s1, d3, "10:00:15") == "driver_lost"
    out = loss_outcome("driver_lost", facts(s1, "d3"), SIMULATOR, t("10:00:15"))
    assert out == Outcome(to_state="pending", close_lease=True, loss_reason="driver_lost")
    assert not out.restore_attempt  # attempt stays 1: the next claim is attempt 2
    assert not out.charge


def test_r2_simulator_job_on_its_last_attempt_fails_uncharged() -> None:
    s1 = running("s1", "09:59:00", attempt=3)
    d3 = LeaseDriver(id="d3", last_seen=t("10:00:00"))
    assert verdict(s1, d3, "10:00:15") == "driver_lost"
    out = loss_outcome("driver_lost", facts(s1, "d3"), SIMULATOR, t("10:00:15"))
    assert (out.to_state, out.failure_reason, out.charge) == ("failed", "max_attempts_exceeded", False)


def test_r3_hardware_job_fails_with_driver_lost_and_r4_its_late_result_is_kept_aside() -> None:
    h1 = running("h1", "09:59:00")
    d1 = LeaseDriver(id="d1", last_seen=t("10:00:00"))
    assert verdict(h1, d1, "10:00:15") == "driver_lost"
    out = loss_outcome("driver_lost", facts(h1, "d1"), HARDWARE, t("10:00:15"))
    assert (out.to_state, out.failure_reason, out.charge, out.close_lease) == (
        "failed",
        "driver_lost",
        False,
        True,
    )
    # R4: d1 reconnects at 10:00:40 and its outbox resends JobResult(h1, 1).
    failed = facts(h1, "d1", state="failed")
    late = result_outcome(
        failed,
        sender="d1",
        attempt=1,
        status="completed",
        error_code=None,
        policy=HARDWARE,
        now=t("10:00:40"),
    )
    assert late == Outcome(ack="stale", late_result=True)  # stays failed, not charged, acked


# --- R5: never accepted --------------------------------------------------------------------------
def test_r5_undelivered_job_is_cancelled_and_requeued_even_on_hardware() -> None:
    h2 = LeaseJob(
        job_id="h2",
        attempt=1,
        state="dispatched",
        dispatched_at=t("11:00:00"),
        job_timeout=SETTINGS.job_timeout,
    )
    # Heartbeats at 11:00:04 and 11:00:09 do not list h2.
    d1 = LeaseDriver(id="d1", last_seen=t("11:00:09"), last_held_at=t("11:00:09"))
    assert verdict(h2, d1, "11:00:09.999") == "ok"
    assert verdict(h2, d1, "11:00:10") == "undelivered"
    out = loss_outcome("undelivered", facts(h2, "d1"), HARDWARE, t("11:00:10"))
    assert out == Outcome(to_state="pending", send_cancel="accept_timeout", close_lease=True, loss_reason="undelivered")


# --- R6-R8: results -------------------------------------------------------------------------------
def test_r6_result_of_a_job_cancelled_while_running_is_charged_and_frees_the_driver() -> None:
    h3 = facts(running("h3", "11:59:50"), "d1", state="cancelled", cancelled_in_flight=True)
    out = result_outcome(
        h3, sender="d1", attempt=1, status="cancelled", error_code=None, policy=HARDWARE, now=t("12:00:01")
    )
    assert out == Outcome(ack="recorded", charge=True, close_lease=True)  # state stays cancelled
    billed = billable_ms(10.2, received_at=t("12:00:01"), dispatched_at=t("11:59:49"), started_at=t("11:59:50"))
    assert charge_ms("cancelled_while_running", billed) == 10_200


def test_r7_result_of_a_superseded_attempt_is_stale() -> None:
    s4 = facts(running("s4", "10:00:00", attempt=2), "d4")
    out = result_outcome(
        s4, sender="d3", attempt=1, status="completed", error_code=None, policy=SIMULATOR, now=t("10:01:00")
    )
    assert out == Outcome(ack="stale", late_result=True)
    same_driver_old_attempt = facts(running("s4", "10:00:00", attempt=2), "d3")
    assert result_outcome(
        same_driver_old_attempt,
        sender="d3",
        attempt=1,
        status="completed",
        error_code=None,
        policy=SIMULATOR,
        now=t("10:01:00"),
    ) == Outcome(ack="stale", late_result=True)


def test_r8_a_resent_result_is_applied_and_charged_once() -> None:
    h5 = facts(running("h5", "10:00:00"), "d1")
    first = result_outcome(
        h5, sender="d1", attempt=1, status="completed", error_code=None, policy=HARDWARE, now=t("10:00:30")
    )
    assert first == Outcome(to_state="completed", charge=True, close_lease=True, ack="recorded")
    recorded = facts(running("h5", "10:00:00"), "d1", state="completed", result_recorded=True)
    second = result_outcome(
        recorded,
        sender="d1",
        attempt=1,
        status="completed",
        error_code=None,
        policy=HARDWARE,
        now=t("10:00:31"),
    )
    assert second == Outcome(ack="duplicate")  # no change, no charge, not a late result


# --- R9, R10: restart and backstop ---------------------------------------------------------------
def test_r9_a_server_restart_gives_drivers_a_full_window_to_return() -> None:
    booted = t("09:00:00")
    h6 = running("h6", "08:59:00")
    d1 = LeaseDriver(id="d1", last_seen=t("08:59:58"), last_held_at=t("08:59:58"))
    h6 = LeaseJob(**{**_fields(h6), "named_at": t("08:59:58")})
    assert verdict(h6, d1, "09:00:11", booted) == "ok"  # 08:59:58 + 15 s has passed, but not boot + 15 s
    assert verdict(h6, d1, "09:00:15", booted) == "driver_lost"  # had it not come back
    # d1 reconnects at 09:00:12; its Hello lists h6.
    back = LeaseDriver(id="d1", last_seen=t("09:00:12"), last_held_at=t("09:00:12"))
    h6 = LeaseJob(**{**_fields(h6), "named_at": t("09:00:12")})
    for now in ("09:00:12", "09:00:20"):
        assert verdict(h6, back, now, booted) == "ok"
    done = result_outcome(
        facts(h6, "d1"),
        sender="d1",
        attempt=1,
        status="completed",
        error_code=None,
        policy=HARDWARE,
        now=t("09:01:00"),
    )
    assert done.to_state == "completed"


def test_r10_backstop_fails_a_job_running_past_its_deadline() -> None:
    h7 = running("h7", "08:00:00")
    alive = LeaseDriver(id="d1", last_seen=t("08:05:29"), last_held_at=t("08:05:29"))
    h7 = LeaseJob(**{**_fields(h7), "named_at": t("08:05:29")})
    assert run_deadline(h7, SETTINGS) == t("08:05:30")
    assert verdict(h7, alive, "08:05:29.999") == "ok"
    assert verdict(h7, alive, "08:05:30") == "timeout"
    out = loss_outcome("timeout", facts(h7, "d1"), SIMULATOR, t("08:05:30"))
    assert out == Outcome(to_state="failed", failure_reason="server_timeout", send_cancel="timeout", close_lease=True)


# --- the lease rules in detail -------------------------------------------------------------------
def _fields(job: LeaseJob) -> dict[str, object]:
    return {f: getattr(job, f) for f in job.__struct_fields__}


def test_l3_a_heartbeat_after_acceptance_that_omits_the_attempt_means_it_was_dropped() -> None:
    job = running("j", "10:00:00", named_at=t("10:00:05"))
    listed = LeaseDriver(id="d1", last_seen=t("10:00:05"), last_held_at=t("10:00:05"))
    assert verdict(job, listed, "10:00:06") == "ok"
    omitted = LeaseDriver(id="d1", last_seen=t("10:00:10"), last_held_at=t("10:00:10"))
    assert verdict(job, omitted, "10:00:10") == "driver_lost"
    before_accept = LeaseDriver(id="d1", last_seen=t("10:00:10"), last_held_at=t("09:59:59"))
    assert verdict(running("j", "10:00:00"), before_accept, "10:00:10") == "ok"


def test_l1_an_attempt_named_by_the_driver_is_not_undelivered() -> None:
    job = LeaseJob(
        job_id="j",
        attempt=1,
        state="dispatched",
        dispatched_at=t("11:00:00"),
        job_timeout=SETTINGS.job_timeout,
        named_at=t("11:00:04"),  # e.g. listed in a reconnect Hello.outbox
    )
    driver = LeaseDriver(id="d1", last_seen=t("11:00:09"), last_held_at=t("11:00:04"))
    assert verdict(job, driver, "11:00:20") == "ok"


@pytest.mark.parametrize(
    ("driver", "accepted", "expected"),
    [
        (LeaseDriver(id="d1", enabled=False, last_seen=t("10:00:00")), True, "driver_disabled"),
        (LeaseDriver(id="d1", enabled=False, last_seen=t("10:00:00")), False, "undelivered"),
        (LeaseDriver(id="d1", replaced=True, last_seen=t("10:00:00")), True, "driver_lost"),
        (LeaseDriver(id="d1", last_seen=None), True, "ok"),  # counted from server start: BOOT + 15 s
    ],
)
def test_l2_disabled_replaced_or_silent_driver(driver: LeaseDriver, accepted: bool, expected: str) -> None:
    job = LeaseJob(
        job_id="j",
        attempt=1,
        state="dispatched",
        dispatched_at=t("10:00:00"),
        accepted_at=t("10:00:00.100") if accepted else None,
        job_timeout=SETTINGS.job_timeout,
    )
    assert verdict(job, driver, "10:00:02", booted=t("09:59:59")) == expected


def test_l2_wins_over_l4_and_disabled_drivers_fail_hardware_jobs_with_driver_disabled() -> None:
    job = running("j", "08:00:00")
    gone = LeaseDriver(id="d1", last_seen=t("08:00:01"))
    assert verdict(job, gone, "09:00:00") == "driver_lost"
    out = loss_outcome("driver_disabled", facts(job, "d1"), HARDWARE, t("09:00:00"))
    assert (out.to_state, out.failure_reason) == ("failed", "driver_disabled")
    requeued = loss_outcome("driver_disabled", facts(job, "d1"), SIMULATOR, t("09:00:00"))
    assert (requeued.to_state, requeued.loss_reason) == ("pending", "driver_disabled")


def test_cancelled_lease_closes_on_drop_loss_or_deadline() -> None:
    job = running("j", "10:00:00", state="cancelled", cancel_sent_at=t("10:01:00"), named_at=t("10:01:00"))
    holding = LeaseDriver(id="d1", last_seen=t("10:01:04"), last_held_at=t("10:01:00"))
    assert cancelled_lease_action(job, holding, t("10:01:04"), BOOT, SETTINGS) == "keep"
    released = LeaseDriver(id="d1", last_seen=t("10:01:05"), last_held_at=t("10:01:05"))
    assert cancelled_lease_action(job, released, t("10:01:05"), BOOT, SETTINGS) == "close"
    assert cancelled_lease_action(job, holding, t("10:01:19"), BOOT, SETTINGS) == "close"  # offline
    stuck = LeaseDriver(id="d1", last_seen=t("10:05:30"), last_held_at=t("10:05:30"))
    stuck_job = LeaseJob(**{**_fields(job), "named_at": t("10:05:30")})
    assert cancelled_lease_action(stuck_job, stuck, t("10:05:30"), BOOT, SETTINGS) == "close_and_resend_cancel"


def test_recovery_wakes_at_the_earliest_deadline() -> None:
    now = t("11:00:02")
    undelivered = LeaseJob(
        job_id="a",
        attempt=1,
        state="dispatched",
        dispatched_at=t("11:00:00"),
        job_timeout=SETTINGS.job_timeout,
    )
    chatty = LeaseDriver(id="d1", last_seen=t("11:00:01"))
    assert lease_deadline(undelivered, chatty, BOOT, SETTINGS) == t("11:00:10")  # accept deadline
    quiet = LeaseDriver(id="d2", last_seen=t("10:59:50"))
    runner = running("b", "10:59:00", named_at=t("10:59:50"))
    assert lease_deadline(runner, quiet, BOOT, SETTINGS) == t("11:00:05")  # driver loss
    wake = recovery_wakeup(
        now,
        leases=[(undelivered, chatty), (runner, quiet)],
        oldest_pending_submitted_at=None,
        server_started_at=BOOT,
        settings=SETTINGS,
    )
    assert wake == t("11:00:05")
    idle = recovery_wakeup(now, leases=[], oldest_pending_submitted_at=None, server_started_at=BOOT, settings=SETTINGS)
    assert idle == now + SETTINGS.recovery_interval
    ttl = recovery_wakeup(
        now,
        leases=[],
        oldest_pending_submitted_at=now - timedelta(days=7) + timedelta(seconds=3),
        server_started_at=BOOT,
        settings=SETTINGS,
    )
    assert ttl == now + timedelta(seconds=3)
    overdue = recovery_wakeup(
        now,
        leases=[(runner, LeaseDriver(id="d2", last_seen=t("10:00:00")))],
        oldest_pending_submitted_at=None,
        server_started_at=BOOT,
        settings=SETTINGS,
    )
    assert overdue == now
    no_ttl = SchedulerSettings(job_queue_ttl=timedelta(0))
    assert (
        recovery_wakeup(
            now,
            leases=[],
            oldest_pending_submitted_at=now - timedelta(days=30),
            server_started_at=BOOT,
            settings=no_ttl,
        )
        == now + no_ttl.recovery_interval
    )
