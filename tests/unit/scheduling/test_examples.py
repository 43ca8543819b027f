"""The worked examples E1-E12 of ``scheduling.md`` §2.6, as tables run through :func:`plan_dispatch`.

Each step happens at an instant: its events are applied to the in-memory world (``conftest.World``),
then the dispatcher runs one claim per QPU. A step checks the claims (``[]`` = none), the
``next_wakeup_at`` per QPU and, where the spec states them, waiting reasons, positions and details.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from qpi.errors import ConflictError, InsufficientBalanceError, QPIError
from qpi.server.scheduling import BalanceDetail, BehindDetail, BookedDetail, BusyDetail, NoDriverDetail


def t(clock: str) -> datetime:
    hms, _, frac = clock.partition(".")
    h, m, s = (int(x) for x in hms.split(":"))
    return datetime(2026, 7, 24, h, m, s, int((frac or "0").ljust(6, "0")), tzinfo=UTC)


Action = Callable[[Any, datetime], None]


# --- events --------------------------------------------------------------------------------------
def sub(job: str, owner: str, qpu: str = "q1") -> Action:
    return lambda w, now: w.submit(job, owner, qpu, now)


def done(job: str, charge_ms: int = 0) -> Action:
    return lambda w, now: w.finish(job, now, "completed", charge_ms)


def failed(job: str) -> Action:
    return lambda w, now: w.finish(job, now, "failed")


def cancel(job: str) -> Action:
    return lambda w, now: w.cancel(job, now)


def enabled(qpu: str, value: bool) -> Action:
    return lambda w, now: setattr(w.qpus[qpu], "enabled", value)


def online(*drivers: str) -> Action:
    def act(w: Any, now: datetime) -> None:
        for d in drivers:
            drv = w.drivers[d]
            drv.link_state, drv.attached, drv.silent = "online", True, False

    return act


def silent_since(driver: str, since: str) -> Action:
    def act(w: Any, now: datetime) -> None:
        w.drivers[driver].silent = True
        w.drivers[driver].last_seen = t(since)

    return act


def monitor(driver: str, qpu: str) -> Action:
    return lambda w, now: w.driver(driver, qpu, role="monitor", last_seen=now)


def balance(user: str, value_ms: int) -> Action:
    return lambda w, now: setattr(w.users[user], "balance_ms", value_ms)


def grant(user: str, amount_ms: int) -> Action:
    return lambda w, now: setattr(w.users[user], "balance_ms", w.users[user].balance_ms + amount_ms)


@dataclass
class Step:
    at: str
    do: tuple[Action, ...] = ()
    dispatch: list[tuple[str, str]] | None = field(default_factory=list)
    wake: dict[str, str | None] = field(default_factory=dict)
    queue: dict[str, tuple[str, int]] = field(default_factory=dict)
    detail: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    raises: tuple[type[QPIError], str] | None = None


def S(at: str, *do: Action, **kw: Any) -> Step:
    return Step(at, do, **kw)


def detail_of(spec: tuple[Any, ...]) -> object:
    kind, *args = spec
    if kind == "booked":
        until, fallback = args
        return BookedDetail(until=t(until), fallback_at=None if fallback is None else t(fallback))
    if kind == "behind":
        return BehindDetail(args[0])
    if kind == "busy":
        return BusyDetail(args[0])
    if kind == "balance":
        return BalanceDetail(args[0])
    if kind == "no_driver":
        return NoDriverDetail(None if args[0] is None else t(args[0]))
    raise AssertionError(kind)


def slot(booking_id: str, holder: str, start: str, end: str, qpu: str | None = "q1") -> Action:
    return lambda w, now: w.book(booking_id, holder, start, end, qpu)


def offline(*drivers: str) -> Action:
    def act(w: Any, now: datetime) -> None:
        for d in drivers:
            w.drivers[d].link_state, w.drivers[d].attached = "offline", False

    return act


def simulator_q3(w: Any, now: datetime) -> None:
    """E11: q3 is a simulator QPU (k = 2) with d3 (free 2) and d4 (free 1), both offline.

    d4 still holds w0, a job cancelled while it ran whose lease is open (L0c), so free(d4) = 1 x 2 - 1.
    """
    w.qpu("q3", simulator=True)
    w.driver("d3", "q3", link_state="offline", attached=False)
    w.driver("d4", "q3", link_state="offline", attached=False)
    w.submit("w0", "C", "q3", t("13:00:00"))
    w.seq = 40  # x1 gets seq 41, y1 seq 42
    w.jobs["w0"].state, w.jobs["w0"].lease_driver, w.jobs["w0"].lease_open = "cancelled", "d4", True


EXAMPLES: dict[str, tuple[tuple[Action, ...], list[Step]]] = {
    "E1 FIFO with no booking": (
        (),
        [
            S("09:00:00", sub("b1", "B"), dispatch=[("b1", "d1")], wake={"q1": None}),
            S("09:00:01", sub("c1", "C"), queue={"c1": ("qpu_busy", 1)}, detail={"c1": ("busy", 1)}),
            S("09:00:02", sub("b2", "B"), queue={"b2": ("behind_jobs", 2)}, detail={"b2": ("behind", 1)}),
            S("09:00:30", done("b1"), dispatch=[("c1", "d1")]),
            S("09:01:00", done("c1"), dispatch=[("b2", "d1")]),
        ],
    ),
    "E2 the holder uses the slot": (
        (slot("S", "A", "10:00:00", "11:00:00"),),
        [
            S("10:00:00", wake={"q1": "11:00:00"}),
            S(
                "10:00:02",
                sub("b1", "B"),
                wake={"q1": "10:00:05"},
                queue={"b1": ("qpu_booked", 1)},
                detail={"b1": ("booked", "11:00:00", "10:00:05")},
            ),
            S("10:00:03", sub("a1", "A"), dispatch=[("a1", "d1")], wake={"q1": "11:00:00"}),
            S("10:00:05", wake={"q1": "11:00:00"}, detail={"b1": ("booked", "11:00:00", None)}),
            S("10:00:20", done("a1"), wake={"q1": "10:00:25"}),
            S("10:00:22", sub("a2", "A"), dispatch=[("a2", "d1")], wake={"q1": "11:00:00"}),
            S("10:00:25", queue={"b1": ("qpu_booked", 1)}),
        ],
    ),
    "E3+E4 the holder never shows up, then comes back during a fallback job": (
        (slot("S", "A", "10:00:00", "11:00:00"), offline("d1")),
        [
            S("09:58:00", sub("b1", "B")),
            S("09:59:00", sub("c1", "C")),
            S("10:00:00", online("d1"), wake={"q1": "10:00:05"}),
            S("10:00:05", dispatch=[("b1", "d1")], wake={"q1": "11:00:00"}),
            S("10:00:10", sub("b2", "B")),
            S("10:00:30", done("b1"), dispatch=[("c1", "d1")]),
            S(
                "10:00:40",
                sub("a1", "A"),
                queue={"a1": ("qpu_busy", 1), "b2": ("qpu_booked", 2)},
                detail={"b2": ("booked", "11:00:00", None)},
            ),
            S("10:01:00", done("c1"), dispatch=[("a1", "d1")]),
            S("10:01:20", done("a1"), wake={"q1": "10:01:25"}),
            S("10:01:25", dispatch=[("b2", "d1")]),
        ],
    ),
    "E5 failure and cancellation end the holder's activity": (
        (slot("S", "A", "10:00:00", "11:00:00"),),
        [
            S("10:09:00", sub("a3", "A"), dispatch=[("a3", "d1")]),
            S("10:09:30", sub("b3", "B")),
            S("10:10:00"),
            S("10:10:10", failed("a3"), wake={"q1": "10:10:15"}),
            S("10:10:15", dispatch=[("b3", "d1")]),
            S("10:15:00", sub("a4", "A")),
            S("10:16:00", sub("c5", "C"), wake={"q1": "11:00:00"}),
            S("10:20:00", cancel("a4"), wake={"q1": "10:20:05"}),
            S("10:20:03", done("b3"), wake={"q1": "10:20:05"}),
            S("10:20:05", dispatch=[("c5", "d1")]),
        ],
    ),
    "E6 no preemption at slot start": (
        (slot("S2", "A", "11:00:00", "12:00:00"),),
        [
            S("10:59:50", sub("b4", "B"), dispatch=[("b4", "d1")], wake={"q1": "11:00:00"}),
            S("11:00:00", wake={"q1": "12:00:00"}),
            S("11:00:01", sub("a5", "A"), queue={"a5": ("qpu_busy", 1)}),
            S("11:00:40", done("b4"), dispatch=[("a5", "d1")]),
        ],
    ),
    "E7 per-QPU slot": (
        (slot("S", "A", "10:00:00", "11:00:00", "q1"),),
        [
            S("10:00:00", wake={"q1": "11:00:00", "q2": None}),
            S(
                "10:00:01",
                sub("b5", "B", "q2"),
                sub("b6", "B", "q1"),
                dispatch=[("b5", "d2")],
                wake={"q1": "10:00:05"},
                queue={"b6": ("qpu_booked", 1)},
                detail={"b6": ("booked", "11:00:00", "10:00:05")},
            ),
        ],
    ),
    "E7 variant: all-QPU slot, idleness per QPU": (
        (slot("S", "A", "10:00:00", "11:00:00", None),),
        [
            S("10:00:00", wake={"q1": "11:00:00", "q2": "11:00:00"}),
            S(
                "10:00:01",
                sub("b5", "B", "q2"),
                wake={"q2": "10:00:05"},
                queue={"b5": ("qpu_booked", 1)},
                detail={"b5": ("booked", "11:00:00", "10:00:05")},
            ),
            S("10:00:02", sub("a6", "A", "q1"), dispatch=[("a6", "d1")], queue={"b5": ("qpu_booked", 1)}),
            S("10:00:05", dispatch=[("b5", "d2")]),
        ],
    ),
    "E8 disabled QPU, offline driver, monitor driver": (
        (),
        [
            S("11:59:00", sub("c6", "C"), dispatch=[("c6", "d1")], wake={"q1": None, "q2": None}),
            S("11:59:50", sub("b7", "B"), queue={"b7": ("qpu_busy", 1)}),
            S("12:00:00", enabled("q1", False), queue={"b7": ("qpu_disabled", 1)}),
            S("12:00:30", sub("c9", "C"), raises=(ConflictError, "qpu_disabled")),
            S("12:01:00", done("c6"), queue={"b7": ("qpu_disabled", 1)}),
            S("12:05:00", enabled("q1", True), dispatch=[("b7", "d1")]),
            S("12:06:00", done("b7")),
            S("12:09:45", silent_since("d1", "12:09:45")),
            S("12:10:00"),
            S(
                "12:11:00",
                monitor("m1", "q1"),
                sub("c7", "C"),
                queue={"c7": ("no_driver_online", 1)},
                detail={"c7": ("no_driver", "12:09:45")},
            ),
            S("12:12:01", online("d1"), dispatch=[("c7", "d1")]),
        ],
    ),
    "E9 an unpaid owner blocks nobody": (
        (),
        [
            S("12:58:00", sub("b0", "B"), dispatch=[("b0", "d1")]),
            S("12:59:00", sub("b8", "B")),
            S(
                "13:00:00",
                sub("c8", "C"),
                done("b0", charge_ms=102_500),
                dispatch=[("c8", "d1")],
                queue={"b8": ("insufficient_balance", 1)},
                detail={"b8": ("balance", -2.5)},
            ),
            S("13:00:10", sub("b9", "B"), raises=(InsufficientBalanceError, "insufficient_balance")),
            S("13:01:00", grant("B", 100_000), queue={"b8": ("qpu_busy", 1)}),
            S("13:01:30", done("c8"), dispatch=[("b8", "d1")], wake={"q1": None}),
        ],
    ),
    "E10 slot end returns to FIFO": (
        (slot("S", "A", "10:00:00", "11:00:00"),),
        [
            S("10:29:00", sub("a6", "A"), dispatch=[("a6", "d1")]),
            S("10:30:00", sub("b10", "B")),
            S("10:50:00", sub("a7", "A")),
            S(
                "10:59:30",
                wake={"q1": "11:00:00"},
                queue={"a7": ("qpu_busy", 1), "b10": ("qpu_booked", 2)},
            ),
            S("11:00:00", wake={"q1": None}, queue={"b10": ("qpu_busy", 1), "a7": ("behind_jobs", 2)}),
            S("11:00:10", done("a6"), dispatch=[("b10", "d1")], wake={"q1": None}),
        ],
    ),
    "E11 ties and several drivers": (
        (simulator_q3,),
        [
            S("14:00:00", sub("x1", "B", "q3"), sub("y1", "C", "q3")),
            S(
                "14:00:00.500",
                sub("z1", "B", "q3"),
                queue={
                    "x1": ("no_driver_online", 1),
                    "y1": ("no_driver_online", 2),
                    "z1": ("no_driver_online", 3),
                },
            ),
            S(
                "14:00:01",
                online("d3", "d4"),
                dispatch=[("x1", "d3"), ("y1", "d4"), ("z1", "d3")],
                wake={"q3": None},
            ),
        ],
    ),
    "E12 a holder who cannot pay does not hold the slot": (
        (slot("S", "A", "15:00:00", "16:00:00"), offline("d1")),
        [
            S("14:59:00", sub("a8", "A"), sub("b11", "B"), balance("A", 0)),
            S("15:00:00", online("d1"), wake={"q1": "15:00:05"}, queue={"a8": ("insufficient_balance", 1)}),
            S("15:00:05", dispatch=[("b11", "d1")], queue={"a8": ("insufficient_balance", 1)}),
        ],
    ),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_worked_example(name: str, world: Any) -> None:
    setup, steps = EXAMPLES[name]
    for act in setup:
        act(world, t(steps[0].at))
    for step in steps:
        now = t(step.at)
        where = f"{name} @ {step.at}"
        if step.raises is not None:
            error, code = step.raises
            with pytest.raises(error) as info:
                for act in step.do:
                    act(world, now)
            assert info.value.code == code, where
        else:
            for act in step.do:
                act(world, now)
        claimed, wakes = world.tick(now)
        if step.dispatch is not None:
            assert claimed == step.dispatch, where
        for qpu, expected in step.wake.items():
            assert wakes[qpu] == (None if expected is None else t(expected)), f"{where}: next_wakeup_at of {qpu}"
        if step.queue or step.detail:
            infos = {}
            for qpu in world.qpus:
                infos.update(world.queue(qpu, now))
            for job, (reason, position) in step.queue.items():
                assert (infos[job].reason, infos[job].position) == (reason, position), f"{where}: {job}"
                assert infos[job].jobs_ahead == position - 1
            for job, spec in step.detail.items():
                assert infos[job].detail == detail_of(spec), f"{where}: {job} detail"


def test_e3_fallback_is_dispatched_exactly_at_fallback_at(world: Any) -> None:
    """W3: the fallback of E3 goes at exactly 10:00:05 (an injected clock), not a moment before."""
    world.book("S", "A", "10:00:00", "11:00:00", "q1")
    world.submit("b1", "B", "q1", t("09:58:00"))
    claimed, wakes = world.tick(t("10:00:04.999"))
    assert claimed == []
    assert wakes["q1"] == t("10:00:05")
    claimed, _ = world.tick(t("10:00:05"))
    assert claimed == [("b1", "d1")]
