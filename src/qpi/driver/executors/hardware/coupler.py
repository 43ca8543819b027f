"""The flux-tunable coupler's CZ, shared by both libraries (``executors.md`` §3.3, "Flux-tunable coupler").

Each library's ``flux_tunable_cz`` factory (``quantify/elements.py``, ``qblox/elements.py``) builds its
own schedule, clock, pulse and phase shifts and hands them to :func:`coupler_cz`, which places them:
the clock ``<edge>.cz`` is registered, the square pulse plays on ``<edge>:fl``, and the parent's and
child's phase corrections are applied on their qubit clocks at the pulse start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = ["COUPLER_CLOCK_LIMIT_HZ", "coupler_cz"]

#: Bounds (±, in Hz) of ``clock_freqs.cz``; NaN is allowed.
COUPLER_CLOCK_LIMIT_HZ = 1e12

_Schedule = TypeVar("_Schedule")


def coupler_cz(schedule: _Schedule, *, clock: Any, pulse: Any, phase_shifts: Iterable[Any]) -> _Schedule:
    """Add ``clock`` to ``schedule``, then ``pulse``, then every phase shift at the pulse's start."""
    target: Any = schedule
    target.add_resource(clock)
    played = target.add(pulse)
    for shift in phase_shifts:
        target.add(shift, ref_op=played, ref_pt="start")
    return schedule
