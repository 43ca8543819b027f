"""Queue positions and waiting reasons (``scheduling.md`` §5) beyond the worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from qpi.server.scheduling import (
    BehindDetail,
    BookedDetail,
    DriverState,
    NoDriverDetail,
    PendingJob,
    QpuInfo,
    QpuSnapshot,
    QueueCounts,
    QueueInfo,
    SchedulerSettings,
    SlotInForce,
    jobs_ahead,
    queue_info,
    waiting_info,
)

NOW = datetime(2026, 7, 24, 12, 0, 0, tzinfo=UTC)
SUB = NOW - timedelta(minutes=10)


def job(job_id: str, owner: str = "B", seconds: int = 0, **kw: object) -> PendingJob:
    return PendingJob(id=job_id, owner=owner, submitted_at=SUB + timedelta(seconds=seconds), seq=seconds, **kw)  # type: ignore[arg-type]


def drv(**kw: object) -> DriverState:
    base: dict[str, object] = {"link_state": "online", "attached": True, "last_seen": NOW, "workers_ready": 1}
    base.update(kw)
    return DriverState(id="d1", **base)  # type: ignore[arg-type]


def snap(*drivers: DriverState, enabled: bool = True, **kw: object) -> QpuSnapshot:
    return QpuSnapshot(qpu=QpuInfo(id="q1", enabled=enabled), settings=SchedulerSettings(), drivers=drivers, **kw)  # type: ignore[arg-type]


NONE_AHEAD = QueueCounts(earlier_payable=0)


@pytest.mark.parametrize(
    ("snapshot", "pending", "counts", "reason", "detail"),
    [
        # First match wins: disabled beats everything, even an offline driver and no balance.
        (snap(enabled=False), job("j", payable=False), NONE_AHEAD, "qpu_disabled", None),
        (
            snap(drv(link_state="offline", last_seen=NOW - timedelta(hours=1))),
            job("j"),
            NONE_AHEAD,
            "no_driver_online",
            NoDriverDetail(NOW - timedelta(hours=1)),
        ),
        (snap(), job("j"), NONE_AHEAD, "no_driver_online", NoDriverDetail(None)),
        (snap(drv(role="monitor")), job("j"), NONE_AHEAD, "no_driver_online", NoDriverDetail(None)),
        (snap(drv(enabled=False)), job("j"), NONE_AHEAD, "no_driver_online", NoDriverDetail(NOW)),
        (snap(drv()), job("j", payable=False, owner_balance_ms=0), NONE_AHEAD, "insufficient_balance", None),
        (snap(drv()), job("j"), QueueCounts(earlier_payable=3), "behind_jobs", BehindDetail(3)),
        (snap(drv(open_leases=1), open_leases=1), job("j"), NONE_AHEAD, "qpu_busy", None),
        (snap(drv()), job("j"), NONE_AHEAD, "dispatching", None),
        # A driver of another replica with a free worker: still "dispatching" (the view is all replicas).
        (snap(drv(attached=False)), job("j"), NONE_AHEAD, "dispatching", None),
        # A draining driver is online (no_driver_online does not apply) but takes nothing.
        (snap(drv(link_state="draining")), job("j"), NONE_AHEAD, "qpu_busy", None),
    ],
)
def test_reason_first_match_wins(
    snapshot: QpuSnapshot, pending: PendingJob, counts: QueueCounts, reason: str, detail: object
) -> None:
    info = queue_info(snapshot, pending, counts, NOW)
    assert info.reason == reason
    if detail is not None:
        assert info.detail == detail


def test_insufficient_balance_detail_and_position_as_if_it_could_pay() -> None:
    info = queue_info(snap(drv()), job("j", payable=False, owner_balance_ms=-2500), QueueCounts(earlier_payable=2), NOW)
    assert (info.reason, info.position, info.jobs_ahead) == ("insufficient_balance", 3, 2)
    assert msgspec.json.decode(msgspec.json.encode(info.detail)) == {"balance_s": -2.5}


def test_jobs_ahead_with_a_slot_puts_every_holder_job_first() -> None:
    slot = SlotInForce(booking_id="S", holder="A", start=NOW, end=NOW + timedelta(hours=1), holder_payable_pending=4)
    counts = QueueCounts(earlier_payable=5, earlier_payable_of_holder=2)
    assert jobs_ahead(job("a", owner="A"), slot, counts) == 2
    assert jobs_ahead(job("b", owner="B"), slot, counts) == 5 - 2 + 4
    assert jobs_ahead(job("b", owner="B"), None, counts) == 5


def test_positions_are_one_to_depth_for_payable_jobs() -> None:
    slot = SlotInForce(booking_id="S", holder="A", start=NOW - timedelta(seconds=1), end=NOW + timedelta(hours=1))
    jobs = [
        job("b1", "B", 1),
        job("x1", "X", 2, payable=False, owner_balance_ms=0),
        job("a1", "A", 3),
        job("c1", "C", 4),
        job("a2", "A", 5),
    ]
    infos = waiting_info(snap(drv(), slot=slot), list(reversed(jobs)), NOW)
    payable = {j: infos[j].position for j in ("a1", "a2", "b1", "c1")}
    assert payable == {"a1": 1, "a2": 2, "b1": 3, "c1": 4}
    assert infos["x1"].position == 4  # after a1, a2 and b1, as if it could pay
    assert infos["x1"].reason == "insufficient_balance"
    assert infos["b1"].reason == "qpu_booked"  # A is active, so the fallback is closed
    assert infos["b1"].detail == BookedDetail(until=slot.end, fallback_at=None)
    assert infos["a1"].reason == "dispatching"
    assert infos["a2"].reason == "behind_jobs"


def test_booked_detail_shows_fallback_at_while_the_holder_is_idle() -> None:
    slot = SlotInForce(booking_id="S", holder="A", start=NOW - timedelta(seconds=1), end=NOW + timedelta(hours=1))
    info = queue_info(snap(drv(), slot=slot), job("b"), NONE_AHEAD, NOW)
    assert info.detail == BookedDetail(until=slot.end, fallback_at=slot.start + timedelta(seconds=5))
    assert info.since == slot.start  # estimated on a cold read: the slot start, not the submission
    encoded = msgspec.json.decode(msgspec.json.encode(info.detail))
    assert encoded == {"until": "2026-07-24T13:00:00Z", "fallback_at": "2026-07-24T12:00:04Z", "mine": False}
    later = queue_info(snap(drv(), slot=slot), job("b"), NONE_AHEAD, NOW + timedelta(seconds=4))
    assert later.reason == "dispatching"  # fallback open


def test_since_keeps_the_previous_instant_while_the_reason_holds() -> None:
    first = queue_info(snap(drv(open_leases=1), open_leases=1), job("j"), NONE_AHEAD, NOW)
    assert first.reason == "qpu_busy"
    assert first.since == SUB  # cold read: since the job was queued
    later = NOW + timedelta(minutes=1)
    busy_later = snap(drv(open_leases=1, last_seen=later), open_leases=1)
    same = queue_info(busy_later, job("j"), NONE_AHEAD, later, previous=first)
    assert (same.reason, same.since) == ("qpu_busy", SUB)
    changed = queue_info(snap(drv(last_seen=later)), job("j"), NONE_AHEAD, later, previous=first)
    assert (changed.reason, changed.since) == ("dispatching", later)


def test_requeued_job_is_estimated_since_its_requeue() -> None:
    requeued = NOW - timedelta(seconds=30)
    info = queue_info(snap(drv(open_leases=1), open_leases=1), job("j", requeued_at=requeued), NONE_AHEAD, NOW)
    assert info.since == requeued


@pytest.mark.parametrize(
    ("info", "text"),
    [
        (
            QueueInfo(position=3, jobs_ahead=2, reason="behind_jobs", detail=BehindDetail(2), since=NOW),
            "behind 2 jobs",
        ),
        (
            QueueInfo(position=2, jobs_ahead=1, reason="behind_jobs", detail=BehindDetail(1), since=NOW),
            "behind 1 job",
        ),
        (QueueInfo(position=1, jobs_ahead=0, reason="qpu_disabled", detail=None, since=NOW), "QPU disabled"),
        (
            QueueInfo(position=1, jobs_ahead=0, reason="no_driver_online", detail=None, since=NOW),
            "no driver online",
        ),
        (
            QueueInfo(position=1, jobs_ahead=0, reason="insufficient_balance", detail=None, since=NOW),
            "insufficient qpu_seconds",
        ),
        (
            QueueInfo(position=1, jobs_ahead=0, reason="qpu_busy", detail=None, since=NOW),
            "waiting for the running job to finish",
        ),
        (
            QueueInfo(position=1, jobs_ahead=0, reason="dispatching", detail=None, since=NOW),
            "being dispatched",
        ),
        (
            QueueInfo(
                position=1,
                jobs_ahead=0,
                reason="qpu_booked",
                detail=BookedDetail(until=NOW, fallback_at=None),
                since=NOW,
            ),
            "QPU booked by another user until 2026-07-24 12:00:00 UTC",
        ),
    ],
)
def test_reason_text(info: QueueInfo, text: str) -> None:
    assert info.text() == text


def test_queue_object_encodes_to_the_api_shape() -> None:
    info = queue_info(snap(drv()), job("j"), QueueCounts(earlier_payable=2), NOW)
    assert msgspec.json.decode(msgspec.json.encode(info)) == {
        "position": 3,
        "jobs_ahead": 2,
        "reason": "behind_jobs",
        "detail": {"jobs_ahead": 2},
        "since": "2026-07-24T11:50:00Z",
    }
