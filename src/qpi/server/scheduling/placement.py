"""Which QPU a submitted job is bound to (``scheduling.md`` §2.2).

Step 1 (a named ``qpu_target``): the handler resolves the id or name (400 ``qpu_not_found``), then
:func:`check_target` refuses a disabled QPU (409 ``qpu_disabled``). Step 2 (no target): the circuits
are parsed first, then :func:`choose_qpu` ranks the candidates. The store supplies one
:class:`QpuCandidate` per QPU: its row, whether an enabled process driver is online on any replica
(:func:`~qpi.server.scheduling.capacity.driver_online`), its pending and running job counts, and the
holder of the booking in force there at ``now``, if any.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from qpi.errors import ConflictError

__all__ = ["QpuCandidate", "check_target", "choose_qpu", "unsuitable_reason"]


class QpuCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A QPU as placement sees it."""

    id: str
    name: str
    enabled: bool = True
    bookable: bool = True
    #: ``None`` while unknown: the width check is skipped (``api.md`` §3.3 row 11).
    num_qubits: int | None = None
    driver_online: bool = False
    pending: int = 0
    running: int = 0
    #: Holder of the slot in force on this QPU now (per-QPU or all-QPU booking), ``None`` when free.
    slot_holder: str | None = None


def check_target(qpu: QpuCandidate) -> None:
    """Step 1: a named QPU must be enabled (409 ``qpu_disabled``); a driverless one is fine (jobs wait)."""
    if not qpu.enabled:
        raise ConflictError(f"QPU {qpu.name!r} is disabled; it accepts no new jobs.", code="qpu_disabled")


def unsuitable_reason(qpu: QpuCandidate, width: int) -> str | None:
    """Why a QPU cannot take a job of ``width`` qubits automatically, or ``None`` when it can."""
    if not qpu.enabled:
        return "disabled"
    if not qpu.driver_online:
        return "no driver online"
    if qpu.num_qubits is not None and width > qpu.num_qubits:
        return f"{qpu.num_qubits} qubits, the job needs {width}"
    return None


def choose_qpu(candidates: Iterable[QpuCandidate], *, caller: str, width: int) -> QpuCandidate:
    """Step 2: the best QPU among the enabled ones with an online process driver that fit ``width``.

    Rank: (1) ``caller`` holds the slot in force there; (2) no one else holds a slot in force there;
    (3) fewest pending + running jobs; (4) name. None fits → 409 ``no_qpu_available`` whose detail
    says why for each QPU.
    """
    qpus = sorted(candidates, key=lambda q: q.name)
    fitting = [q for q in qpus if unsuitable_reason(q, width) is None]
    if not fitting:
        if not qpus:
            detail = "No QPU can take this job: no QPU is registered."
        else:
            why = "; ".join(f"{q.name}: {unsuitable_reason(q, width)}" for q in qpus)
            detail = f"No QPU can take this job ({why})."
        raise ConflictError(detail, code="no_qpu_available")

    def rank(q: QpuCandidate) -> tuple[int, int, int, str]:
        holder = q.slot_holder if q.bookable else None
        return (
            0 if holder == caller else 1,
            1 if holder not in (None, caller) else 0,
            q.pending + q.running,
            q.name,
        )

    return min(fitting, key=rank)
