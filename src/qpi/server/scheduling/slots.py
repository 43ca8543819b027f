"""Bookings in force and the idleness of their holder (``scheduling.md`` §2.3, §2.4).

- ``slot(q, now)``: the booking with ``start <= now < end`` on q or on all QPUs, only when q is bookable.
- ``active(h, q)``: h has a job on q in flight (``dispatched``/``running`` with an open lease) or a
  payable pending job on q.
- ``idle_since = max(slot.start, latest finished_at of h's jobs on q)`` (every final state counts).
- ``fallback_at = idle_since + idle_threshold``; ``fallback_open`` once ``now >= fallback_at``.

Idleness is per QPU, even under an all-QPU booking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from qpi.server.scheduling.model import QpuSnapshot, SlotInForce

__all__ = ["HolderState", "holder_state", "slot_in_force"]


class HolderState(msgspec.Struct, frozen=True, kw_only=True):
    """The holder's activity on one QPU at ``now``; ``idle_since``/``fallback_at`` are None while active."""

    active: bool
    idle_since: datetime | None = None
    fallback_at: datetime | None = None
    fallback_open: bool = False


def slot_in_force(snap: QpuSnapshot, now: datetime) -> SlotInForce | None:
    """D6: the snapshot's slot if it applies at ``now`` (half-open) and the QPU is bookable, else ``None``."""
    slot = snap.slot
    if slot is None or not snap.qpu.bookable:
        return None
    if not slot.start <= now < slot.end:
        return None
    if slot.qpu_id is not None and slot.qpu_id != snap.qpu.id:
        return None
    return slot


def holder_state(
    slot: SlotInForce, now: datetime, idle_threshold: timedelta, *, holder_has_pending: bool = False
) -> HolderState:
    """§2.4 for the holder of ``slot``.

    ``holder_has_pending`` lets the caller add payable holder jobs it sees in its candidate list to the
    store's ``slot.holder_payable_pending`` count (either one makes the holder active).
    """
    if slot.holder_in_flight > 0 or slot.holder_payable_pending > 0 or holder_has_pending:
        return HolderState(active=True)
    idle_since = slot.start
    if slot.holder_last_finished_at is not None and slot.holder_last_finished_at > idle_since:
        idle_since = slot.holder_last_finished_at
    fallback_at = idle_since + idle_threshold
    return HolderState(active=False, idle_since=idle_since, fallback_at=fallback_at, fallback_open=now >= fallback_at)
