"""Progress while waiting for a job, on stderr (``client-and-cli.md`` §3.2).

On a terminal: a spinner with the state, queue position, waiting reason and elapsed time,
redrawn on each event. Otherwise one line per status change. Nothing in JSON mode or with
``--quiet``.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from qpi.cli.client.formats import format_seconds

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.models import Job

__all__ = ["Progress", "describe"]


def describe(job: Job) -> str:
    """``pending · position 3 · behind 2 jobs`` / ``running (attempt 1)``."""
    parts = [job.state.value]
    if job.queue is not None:
        parts.append(f"position {job.queue.position}")
        parts.append(job.queue.text)
    elif job.attempt > 1 and not job.final:
        parts.append(f"attempt {job.attempt}")
    return " · ".join(parts)


class _Line:
    """A renderable recomputed at every refresh, so the elapsed time keeps moving."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def __rich__(self) -> str:
        return self._progress.text()


class Progress:
    def __init__(self, out: Out, job_id: str) -> None:
        self._out = out
        self._job_id = job_id
        self._started = time.monotonic()
        self._status = "waiting"
        self._last_line: str | None = None
        self._tty = out.stderr_is_tty() and not out.json and not out.quiet
        self._live: Any = None

    def text(self) -> str:
        return f"job {self._job_id}: {self._status} · {format_seconds(time.monotonic() - self._started)}"

    def __enter__(self) -> Progress:
        if self._tty:
            from rich.console import Console
            from rich.status import Status

            console = Console(stderr=True, no_color=not self._out.color)
            self._live = Status(_Line(self), console=console, spinner="dots")
            self._live.start()
        return self

    def update(self, job: Job) -> None:
        self._status = describe(job)
        if self._tty:
            if self._live is not None:
                self._live.update(_Line(self))
            return
        if self._status != self._last_line:
            self._last_line = self._status
            self._out.progress(f"job {self._job_id}: {self._status}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
