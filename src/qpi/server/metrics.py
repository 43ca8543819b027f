"""Prometheus metrics of one server process (``api.md`` §2.1 ``/metrics``, ``driver-protocol.md`` P-7.7).

Counters are updated where things happen; gauges (queue depth, drivers online) are read when
``/metrics`` is scraped. Each server owns its registry, so several servers in one process (tests)
never share counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from qpi.server.context import ServerContext
    from qpi.server.store import EventRow

__all__ = ["Metrics"]

_FINAL = {"job.completed": "completed", "job.failed": "failed", "job.cancelled": "cancelled"}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "qpi_http_requests_total", "HTTP requests answered", ["method", "status"], registry=r
        )
        self.jobs_submitted = Counter("qpi_jobs_submitted_total", "Jobs accepted by POST /api/jobs", registry=r)
        self.jobs_finished = Counter(
            "qpi_jobs_finished_total", "Jobs that reached a final state", ["status"], registry=r
        )
        self.queue_depth = Gauge("qpi_queue_depth", "Pending jobs per QPU", ["qpu"], registry=r)
        self.dispatch_latency = Histogram(
            "qpi_dispatch_latency_seconds",
            "From submission (or requeue) to dispatch",
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )
        self.drivers_online = Gauge("qpi_drivers_online", "Drivers attached to this server and online", registry=r)
        self.protocol_stale = Counter("qpi_protocol_stale_total", "Stale job messages from drivers", registry=r)
        self.protocol_unknown = Counter("qpi_protocol_unknown_total", "Unknown link message types", registry=r)
        self.protocol_malformed = Counter("qpi_protocol_malformed_total", "Undecodable link messages", registry=r)
        self.events_dropped = Counter(
            "qpi_driver_events_dropped_total", "Telemetry dropped by the rate limit", ["driver"], registry=r
        )

    def on_events(self, events: Iterable[EventRow]) -> None:
        """Hub listener: count submissions and final states from the committed job events."""
        for event in events:
            if event.type == "job.created":
                self.jobs_submitted.inc()
            elif event.type in _FINAL:
                self.jobs_finished.labels(status=_FINAL[event.type]).inc()

    async def render(self, ctx: ServerContext) -> bytes:
        self.queue_depth.clear()
        for name, pending in (await ctx.store.qpus.pending_depth()).items():
            self.queue_depth.labels(qpu=name).set(pending)
        links = getattr(ctx.links, "links", {}) or {}
        self.drivers_online.set(sum(1 for link in links.values() if link.attached and link.state == "online"))
        return generate_latest(self.registry)
