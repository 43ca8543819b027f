"""Automatic QPU placement (``scheduling.md`` §2.2 step 2) and the target check of step 1."""

from __future__ import annotations

import pytest

from qpi.errors import ConflictError
from qpi.server.scheduling import QpuCandidate, check_target, choose_qpu


def qpu(name: str, **kw: object) -> QpuCandidate:
    base: dict[str, object] = {"driver_online": True, "num_qubits": 5}
    base.update(kw)
    return QpuCandidate(id=f"id-{name}", name=name, **base)  # type: ignore[arg-type]


def test_rank_prefers_own_slot_then_unbooked_then_load_then_name() -> None:
    mine = qpu("zeta", slot_holder="alice", pending=50)
    theirs = qpu("alpha", slot_holder="bob", pending=0)
    quiet = qpu("mid", pending=1, running=1)
    busy = qpu("beta", pending=3)
    assert choose_qpu([theirs, quiet, busy, mine], caller="alice", width=2).name == "zeta"
    assert choose_qpu([theirs, quiet, busy], caller="alice", width=2).name == "mid"
    assert choose_qpu([theirs], caller="alice", width=2).name == "alpha"  # booked by another, still usable
    assert choose_qpu([qpu("b"), qpu("a")], caller="alice", width=2).name == "a"
    # A non-bookable QPU ignores slots (all-QPU bookings skip it).
    free = qpu("nb", bookable=False, slot_holder="bob", pending=5)
    assert choose_qpu([free, qpu("x", slot_holder="bob")], caller="alice", width=2).name == "nb"


def test_only_enabled_online_fitting_qpus_are_candidates() -> None:
    small = qpu("small", num_qubits=2)
    unknown = qpu("unknown", num_qubits=None, pending=9)
    assert choose_qpu([small, unknown], caller="a", width=3).name == "unknown"  # width unknown: not checked
    with pytest.raises(ConflictError) as info:
        choose_qpu([qpu("off", enabled=False), qpu("dark", driver_online=False), small], caller="a", width=3)
    err = info.value
    assert (err.status_code, err.code) == (409, "no_qpu_available")
    assert "dark: no driver online" in err.detail
    assert "off: disabled" in err.detail
    assert "small: 2 qubits, the job needs 3" in err.detail
    with pytest.raises(ConflictError, match="no QPU is registered"):
        choose_qpu([], caller="a", width=1)


def test_named_target_must_be_enabled_but_may_be_driverless() -> None:
    check_target(qpu("dark", driver_online=False))
    with pytest.raises(ConflictError) as info:
        check_target(qpu("off", enabled=False))
    assert (info.value.status_code, info.value.code) == (409, "qpu_disabled")
