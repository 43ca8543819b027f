"""Events of the live stream (``api.md`` §2.11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qpi.client.models._base import Model

__all__ = ["Event"]


class Event(Model, frozen=True, kw_only=True):
    """One event: ``type`` as the server publishes it (``job.completed``, ``job.queue``, …).

    ``id`` is None for live-only events (``job.queue``), which are never replayed.
    ``data`` holds the type's fields (for ``job.*``: ``state``, ``status``, ``attempt``, …).
    """

    id: int | None = None
    ts: datetime | None = None
    type: str
    source: str | None = None
    qpu: str | None = None
    driver: str | None = None
    job: str | None = None
    user: str | None = None
    data: dict[str, Any] = {}

    @property
    def state(self) -> str | None:
        """The job state a ``job.*`` transition event announces."""
        value = self.data.get("state")
        return str(value) if value is not None else None
