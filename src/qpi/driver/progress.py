"""``report_progress`` for executors (``executors.md`` E-1.5).

An executor MAY call ``report_progress(fraction, stage)`` while it runs a job; inside a driver
worker it becomes a ``JobProgress`` message (at most one per second per job, the first one at
once). Outside a worker, or between jobs, it does nothing, so executors can call it freely in
tests and scripts. Safe to call from any thread of the worker.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

__all__ = ["MIN_INTERVAL_S", "ProgressSink", "report_progress"]

logger = logging.getLogger(__name__)

#: the fastest rate at which progress is forwarded
MIN_INTERVAL_S = 1.0

#: ``sink(fraction, stage, message)``, installed by the worker for the job it runs
ProgressSink = Callable[[float | None, str, str | None], None]

_lock = threading.Lock()
_sink: ProgressSink | None = None
_last_sent = -math.inf


def report_progress(fraction: float | None = None, stage: str = "running", message: str | None = None) -> None:
    """Report how far the current job is (``fraction`` in 0..1 or None) and its ``stage``.

    Stages used by the built-ins: ``transpiling``, ``compiling``, ``running``, ``processing``.
    Calls closer than one second to the previous forwarded one are dropped.
    """
    global _last_sent
    with _lock:
        sink = _sink
        if sink is None:
            return
        now = time.monotonic()
        if now - _last_sent < MIN_INTERVAL_S:
            return
        _last_sent = now
    if fraction is not None:
        fraction = min(1.0, max(0.0, float(fraction)))
    try:
        sink(fraction, stage, message)
    except Exception:  # progress must never fail a job
        logger.debug("progress report dropped", exc_info=True)


def install_sink(sink: ProgressSink | None) -> None:
    """Route progress to ``sink`` (the worker does this per job); None turns reporting off."""
    global _sink, _last_sent
    with _lock:
        _sink = sink
        _last_sent = -math.inf
