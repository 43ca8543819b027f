"""Driver eligibility and free capacity (``scheduling.md`` D2-D5, ``driver-protocol.md`` P-6.1).

``free(d) = workers_ready(d) * k - open_leases(d)`` with the prefetch factor k = 2 on a simulator QPU
(each worker may hold one job ahead) and k = 1 on a hardware QPU (never prefetches).
``free_q = min(max_concurrent(q) - open_leases(q), Σ free(d) over eligible d)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import msgspec

from qpi.server.scheduling.model import DriverState, QpuInfo, QpuSnapshot
from qpi.server.scheduling.settings import LossPolicy, OnDriverLoss

__all__ = [
    "SIMULATOR_KINDS",
    "driver_eligible",
    "driver_free",
    "driver_online",
    "effective_max_concurrent",
    "free_capacity",
    "is_simulator_qpu",
    "latest_driver_seen",
    "prefetch_factor",
    "resolve_on_driver_loss",
]

#: Driver kinds that make a *simulator QPU* when every process driver of the QPU is one of them (§0).
SIMULATOR_KINDS = frozenset({"mock", "qiskit_aer"})


def is_simulator_qpu(process_driver_kinds: Iterable[str], *, custom_reports_simulator: bool = False) -> bool:
    """§0: a QPU is a simulator QPU when it has process drivers and every one is ``mock`` or ``qiskit_aer``.

    [beyond] A ``custom`` driver counts as a simulator when its executor says so in its ``DeviceInfo``
    (``simulator: true``, ``custom_reports_simulator``): the author of a custom simulator gets
    prefetch and at-least-once recovery like the built-in ones. A QPU without any process driver
    counts as hardware (the safe side: at-most-once, no prefetch, ``max_concurrent`` 1).
    """
    kinds = list(process_driver_kinds)
    allowed = SIMULATOR_KINDS | {"custom"} if custom_reports_simulator else SIMULATOR_KINDS
    return bool(kinds) and all(kind in allowed for kind in kinds)


def reports_simulator(device_info_json: str | None) -> bool:
    """The ``simulator`` flag of a QPU's latest ``DeviceInfo`` (stored as JSON), False when unknown."""
    if not device_info_json:
        return False
    try:
        return bool(msgspec.json.decode(device_info_json).get("simulator", False))
    except (msgspec.DecodeError, AttributeError):
        return False


def prefetch_factor(simulator: bool) -> int:
    """k of D2, sent to drivers as ``max_held_per_worker`` in the connect reply: 2 on simulators, else 1."""
    return 2 if simulator else 1


def effective_max_concurrent(qpu: QpuInfo) -> int | None:
    """The lease limit: ``max_concurrent``, else 1 on hardware and ``None`` (no limit) on a simulator."""
    if qpu.max_concurrent is not None:
        return qpu.max_concurrent
    return None if qpu.simulator else 1


def resolve_on_driver_loss(
    qpu_setting: OnDriverLoss | None, server_default: OnDriverLoss, simulator: bool
) -> LossPolicy:
    """§0 / ``driver-protocol.md`` §5.2: the QPU's ``on_driver_loss`` as ``"requeue"`` or ``"fail"``.

    An explicit ``requeue``/``fail`` on the QPU wins; ``auto`` (or null) defers to the server's
    ``--on-driver-loss``; when that is ``auto`` too, simulator QPUs requeue and every other QPU fails.
    """
    for value in (qpu_setting, server_default):
        if value == "requeue":
            return "requeue"
        if value == "fail":
            return "fail"
    return "requeue" if simulator else "fail"


def driver_free(driver: DriverState, simulator: bool) -> int:
    """``free(d) = workers_ready * k - open_leases`` (may be negative after ``workers_ready`` dropped)."""
    return driver.workers_ready * prefetch_factor(simulator) - driver.open_leases


def _fresh(driver: DriverState, now: datetime, offline_after: timedelta) -> bool:
    return driver.last_seen is not None and now - driver.last_seen < offline_after


def driver_online(driver: DriverState, now: datetime, offline_after: timedelta) -> bool:
    """D4 / P-4.3: an enabled *process* driver whose link is ``online`` or ``draining`` and not silent.

    This is the "online" of QPU status and of the ``no_driver_online`` waiting reason (any replica).
    """
    return (
        driver.role == "process"
        and driver.enabled
        and driver.link_state in ("online", "draining")
        and _fresh(driver, now, offline_after)
    )


def driver_eligible(
    driver: DriverState,
    now: datetime,
    offline_after: timedelta,
    simulator: bool,
    *,
    this_replica: bool = True,
) -> bool:
    """D2: may this driver receive a job now?

    (1) role ``process``; (2) enabled; (3) link ``online`` and, when ``this_replica``, a pipe attached
    to this replica; (4) last message less than ``offline_after`` ago; (5) not suspect (this replica
    only); (6) ``free(d) > 0``. With ``this_replica=False`` the attachment and suspicion checks are
    skipped: that is the view across all replicas used for ``free_all_replicas`` (§5).
    """
    if driver.role != "process" or not driver.enabled or driver.link_state != "online":
        return False
    if this_replica and (not driver.attached or driver.suspect):
        return False
    return _fresh(driver, now, offline_after) and driver_free(driver, simulator) > 0


def free_capacity(snap: QpuSnapshot, now: datetime, *, all_replicas: bool = False) -> int:
    """D5: ``free_q``, never negative. 0 when the QPU is disabled.

    ``all_replicas=False`` counts only drivers this replica may dispatch to (the claim);
    ``all_replicas=True`` counts every online driver on any replica (``free_all_replicas`` of §5).
    """
    if not snap.qpu.enabled:
        return 0
    offline_after = snap.settings.offline_after
    total = sum(
        driver_free(d, snap.qpu.simulator)
        for d in snap.drivers
        if driver_eligible(d, now, offline_after, snap.qpu.simulator, this_replica=not all_replicas)
    )
    limit = effective_max_concurrent(snap.qpu)
    if limit is not None:
        total = min(total, limit - snap.open_leases)
    return max(0, total)


def latest_driver_seen(drivers: Iterable[DriverState]) -> datetime | None:
    """The latest ``last_seen`` among process drivers (the ``no_driver_online`` detail)."""
    seen = [d.last_seen for d in drivers if d.role == "process" and d.last_seen is not None]
    return max(seen) if seen else None
