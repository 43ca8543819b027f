"""plan_dispatch beyond the worked examples: capacity (D2-D5), prefetch, driver choice, slots (P3, P6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qpi.errors import InvalidInputError, QPIError
from qpi.server.scheduling import (
    Assignment,
    DriverState,
    PendingJob,
    QpuInfo,
    QpuSnapshot,
    SchedulerSettings,
    SlotInForce,
    candidate_limit,
    driver_eligible,
    effective_max_concurrent,
    free_capacity,
    is_simulator_qpu,
    plan_dispatch,
    prefetch_factor,
    resolve_on_driver_loss,
)

NOW = datetime(2026, 7, 24, 12, 0, 0, tzinfo=UTC)
SETTINGS = SchedulerSettings()


def drv(driver_id: str = "d1", **kw: object) -> DriverState:
    base: dict[str, object] = {
        "link_state": "online",
        "attached": True,
        "last_seen": NOW - timedelta(seconds=1),
        "workers_ready": 1,
    }
    base.update(kw)
    return DriverState(id=driver_id, **base)  # type: ignore[arg-type]


def job(job_id: str, owner: str = "B", seconds: float = 0, seq: int | None = None, **kw: object) -> PendingJob:
    return PendingJob(
        id=job_id,
        owner=owner,
        submitted_at=NOW - timedelta(minutes=10) + timedelta(seconds=seconds),
        seq=seq if seq is not None else int(seconds * 1000),
        **kw,  # type: ignore[arg-type]
    )


def snap(*drivers: DriverState, jobs: tuple[PendingJob, ...] = (), **kw: object) -> QpuSnapshot:
    qpu_kw = {k: kw.pop(k) for k in ("enabled", "bookable", "simulator", "max_concurrent") if k in kw}
    return QpuSnapshot(
        qpu=QpuInfo(id="q1", **qpu_kw),  # type: ignore[arg-type]
        settings=SETTINGS,
        drivers=drivers,
        pending=jobs,
        **kw,  # type: ignore[arg-type]
    )


def assigned(plan_snap: QpuSnapshot, now: datetime = NOW) -> list[tuple[str, str]]:
    return [(a.job_id, a.driver_id) for a in plan_dispatch(plan_snap, now).assignments]


JOBS = (job("j1", seconds=1), job("j2", seconds=2), job("j3", seconds=3), job("j4", seconds=4))


@pytest.mark.parametrize(
    ("driver", "why"),
    [
        (drv(role="monitor"), "monitor drivers never receive jobs"),
        (drv(enabled=False), "disabled"),
        (drv(link_state="connecting"), "connecting"),
        (drv(link_state="draining"), "draining"),
        (drv(link_state="offline"), "offline"),
        (drv(attached=False), "attached to another replica / detached"),
        (drv(last_seen=NOW - timedelta(seconds=15)), "silent for offline_after"),
        (drv(last_seen=None), "never seen"),
        (drv(suspect=True), "a send failed since its last heartbeat"),
        (drv(workers_ready=0), "no ready worker"),
        (drv(open_leases=1), "its only worker holds a job"),
    ],
)
def test_ineligible_driver_gets_nothing(driver: DriverState, why: str) -> None:
    assert assigned(snap(driver, jobs=JOBS)) == [], why


def test_silence_just_under_offline_after_is_still_eligible() -> None:
    fresh = drv(last_seen=NOW - timedelta(seconds=14, microseconds=999_999))
    assert driver_eligible(fresh, NOW, SETTINGS.offline_after, simulator=False)
    assert assigned(snap(fresh, jobs=JOBS)) == [("j1", "d1")]


def test_hardware_takes_one_job_per_ready_worker_and_respects_max_concurrent() -> None:
    # Hardware: k = 1, max_concurrent null = 1.
    assert assigned(snap(drv(workers_ready=3), jobs=JOBS)) == [("j1", "d1")]
    assert assigned(snap(drv(workers_ready=3), jobs=JOBS, max_concurrent=2)) == [("j1", "d1"), ("j2", "d1")]


def test_simulator_prefetches_two_per_worker_without_limit() -> None:
    plan = plan_dispatch(snap(drv(workers_ready=1), jobs=JOBS, simulator=True), NOW)
    assert [a.job_id for a in plan.assignments] == ["j1", "j2"]
    assert plan.free == 2
    both = snap(drv("d1", workers_ready=2), drv("d2", workers_ready=1), jobs=JOBS, simulator=True)
    assert len(plan_dispatch(both, NOW).assignments) == 4


def test_open_leases_count_against_the_qpu_limit_cancelled_included() -> None:
    # max_concurrent 2, one lease still open (e.g. a cancelled job the driver has not released).
    s = snap(drv(workers_ready=2), jobs=JOBS, max_concurrent=2, open_leases=1)
    assert free_capacity(s, NOW) == 1
    assert assigned(s) == [("j1", "d1")]
    full = snap(drv(workers_ready=2), jobs=JOBS, max_concurrent=2, open_leases=2)
    assert assigned(full) == []


def test_disabled_qpu_gets_nothing_but_keeps_timers() -> None:
    slot = SlotInForce(booking_id="S", holder="A", start=NOW - timedelta(minutes=1), end=NOW + timedelta(hours=1))
    plan = plan_dispatch(snap(drv(), jobs=JOBS, enabled=False, slot=slot), NOW)
    assert plan.assignments == ()
    assert plan.next_wakeup_at == slot.end


def test_unpayable_jobs_are_skipped_and_block_nobody() -> None:
    jobs = (job("j1", payable=False), job("j2", seconds=1))
    assert assigned(snap(drv(), jobs=jobs)) == [("j2", "d1")]


def test_fifo_by_submitted_at_then_seq_whatever_the_list_order() -> None:
    jobs = (job("late", seconds=5), job("tie2", seconds=1, seq=8), job("tie1", seconds=1, seq=7))
    s = snap(drv(workers_ready=3), jobs=jobs, max_concurrent=3)
    assert [a for a, _ in assigned(s)] == ["tie1", "tie2", "late"]


def test_driver_choice_largest_free_then_oldest_dispatch_then_id() -> None:
    never = drv("d9", workers_ready=1)
    old = drv("d2", workers_ready=1, last_dispatch_at=NOW - timedelta(minutes=5))
    recent = drv("d1", workers_ready=1, last_dispatch_at=NOW - timedelta(minutes=1))
    big = drv("d5", workers_ready=2, last_dispatch_at=NOW)
    s = snap(recent, old, never, big, jobs=JOBS, max_concurrent=10)
    # d5 (free 2); then a four-way tie at free 1: never dispatched d9, then the oldest d2, then d1 vs d5
    # (d5 was just used: now is newer than d1's minute-old dispatch).
    assert assigned(s) == [("j1", "d5"), ("j2", "d9"), ("j3", "d2"), ("j4", "d1")]
    same = snap(drv("d2"), drv("d1"), jobs=JOBS[:1], max_concurrent=10)
    assert assigned(same) == [("j1", "d1")]  # lowest id


def test_slot_holder_first_and_others_wait_until_fallback() -> None:
    slot = SlotInForce(booking_id="S", holder="A", start=NOW - timedelta(seconds=2), end=NOW + timedelta(hours=1))
    jobs = (job("b1", "B", seconds=0), job("a1", "A", seconds=5))
    s = snap(drv(workers_ready=2), jobs=jobs, slot=slot, max_concurrent=2)
    # A is active (a1 pending): only the holder's job goes, although b1 is older.
    assert assigned(s) == [("a1", "d1")]
    idle = snap(drv(workers_ready=2), jobs=jobs[:1], slot=slot, max_concurrent=2)
    plan = plan_dispatch(idle, NOW)
    assert plan.assignments == ()
    assert plan.next_wakeup_at == slot.start + SETTINGS.idle_threshold
    assert assigned(idle, slot.start + SETTINGS.idle_threshold) == [("b1", "d1")]


def test_holder_in_flight_or_counted_pending_keeps_the_slot() -> None:
    start, end = NOW - timedelta(minutes=5), NOW + timedelta(hours=1)
    jobs = (job("b1", "B"),)
    for slot in (
        SlotInForce(booking_id="S", holder="A", start=start, end=end, holder_in_flight=1),
        SlotInForce(booking_id="S", holder="A", start=start, end=end, holder_payable_pending=1),
    ):
        plan = plan_dispatch(snap(drv(), jobs=jobs, slot=slot), NOW)
        assert plan.assignments == ()
        assert plan.next_wakeup_at == end  # no fallback timer while the holder is active


def test_idle_since_is_the_latest_finish_after_slot_start() -> None:
    slot = SlotInForce(
        booking_id="S",
        holder="A",
        start=NOW - timedelta(minutes=5),
        end=NOW + timedelta(hours=1),
        holder_last_finished_at=NOW - timedelta(seconds=3),
    )
    plan = plan_dispatch(snap(drv(), jobs=(job("b1"),), slot=slot), NOW)
    assert plan.assignments == ()
    assert plan.next_wakeup_at == NOW + timedelta(seconds=2)


def test_slot_not_in_force_or_not_applicable_is_ignored() -> None:
    jobs = (job("b1"),)
    ended = SlotInForce(booking_id="S", holder="A", start=NOW - timedelta(hours=1), end=NOW)
    other_qpu = SlotInForce(booking_id="S", holder="A", start=NOW, end=NOW + timedelta(hours=1), qpu_id="q2")
    in_force = SlotInForce(booking_id="S", holder="A", start=NOW, end=NOW + timedelta(hours=1))
    assert assigned(snap(drv(), jobs=jobs, slot=ended)) == [("b1", "d1")]  # half-open: ends at NOW
    assert assigned(snap(drv(), jobs=jobs, slot=other_qpu)) == [("b1", "d1")]
    assert assigned(snap(drv(), jobs=jobs, slot=in_force, bookable=False)) == [("b1", "d1")]
    assert assigned(snap(drv(), jobs=jobs, slot=in_force)) == []


def test_next_wakeup_is_the_earliest_future_boundary() -> None:
    nxt = NOW + timedelta(minutes=30)
    assert plan_dispatch(snap(drv(), next_slot_start=nxt), NOW).next_wakeup_at == nxt
    assert plan_dispatch(snap(drv(), next_slot_start=nxt, bookable=False), NOW).next_wakeup_at is None
    slot = SlotInForce(booking_id="S", holder="A", start=NOW, end=NOW + timedelta(hours=1))
    assert plan_dispatch(snap(drv(), slot=slot, next_slot_start=nxt), NOW).next_wakeup_at == nxt
    assert plan_dispatch(snap(drv()), NOW).next_wakeup_at is None


def test_candidate_limit_is_free_capacity_but_at_least_one() -> None:
    assert candidate_limit(snap(drv(workers_ready=3), simulator=True), NOW) == 6
    assert candidate_limit(snap(drv(workers_ready=0)), NOW) == 1
    assert candidate_limit(snap(drv(), enabled=False), NOW) == 1


def test_plan_refuses_a_naive_now() -> None:
    with pytest.raises(InvalidInputError) as info:
        plan_dispatch(snap(drv()), datetime(2026, 7, 24, 12, 0))
    assert isinstance(info.value, QPIError)


def test_assignments_are_typed_and_in_rank_order() -> None:
    plan = plan_dispatch(snap(drv(workers_ready=1), jobs=JOBS[::-1], simulator=True), NOW)
    assert plan.assignments == (Assignment("j1", "d1"), Assignment("j2", "d1"))


def test_simulator_and_hardware_resolution() -> None:
    assert is_simulator_qpu(["mock", "qiskit_aer"])
    assert not is_simulator_qpu(["qiskit_aer", "quantify"])
    assert not is_simulator_qpu([])
    assert prefetch_factor(True) == 2
    assert prefetch_factor(False) == 1
    assert effective_max_concurrent(QpuInfo(id="q", simulator=False)) == 1
    assert effective_max_concurrent(QpuInfo(id="q", simulator=True)) is None
    assert effective_max_concurrent(QpuInfo(id="q", simulator=True, max_concurrent=4)) == 4
    assert resolve_on_driver_loss("auto", "auto", simulator=True) == "requeue"
    assert resolve_on_driver_loss("auto", "auto", simulator=False) == "fail"
    assert resolve_on_driver_loss(None, "fail", simulator=True) == "fail"
    assert resolve_on_driver_loss("requeue", "fail", simulator=False) == "requeue"
    assert resolve_on_driver_loss("fail", "auto", simulator=True) == "fail"
