"""Builds the link layer of a server: link manager, listener, dispatcher, recovery, and their hooks."""

from __future__ import annotations

import logging

from qpi.errors import LinkError
from qpi.protocol.messages import CancelJob, CancelJobBody, DisconnectReason
from qpi.server.context import ServerContext
from qpi.server.dispatcher import Dispatcher
from qpi.server.fanout import FanOut
from qpi.server.links import LinkManager
from qpi.server.listener import Listener
from qpi.server.queueing import QueueReader
from qpi.server.recovery import Recovery
from qpi.server.results import ResultHandler
from qpi.server.store import JobRow
from qpi.server.supervisor import Supervisor

__all__ = ["wire_link_layer"]

logger = logging.getLogger(__name__)

_DISCONNECT_REASON: dict[str, DisconnectReason] = {
    "disabled": "disabled",
    "deleted": "deleted",
    "token_revoked": "token_revoked",
}


def wire_link_layer(ctx: ServerContext, supervisor: Supervisor) -> LinkManager:
    links = LinkManager(ctx)
    ctx.links = links
    listener = Listener(ctx, links, ResultHandler(ctx))
    dispatcher = Dispatcher(ctx, links)
    recovery = Recovery(ctx, links)
    fanout = FanOut(ctx)
    fanout.queue_reader = QueueReader(ctx).for_jobs_fresh
    ctx.hub.on_publish(fanout.wake)
    ctx.hub.on_wake(lambda _qpu: fanout.wake())  # every wake-up follows a commit that may hold events
    ctx.extras["fanout"] = fanout
    ctx.hub.on_wake(dispatcher.wake)
    dispatcher.on_claims = recovery.wake
    listener.on_held_list = recovery.wake  # L3 is checked inline, on every held list
    ctx.extras["snapshot_overlay"] = links.overlay
    ctx.extras["dispatcher"] = dispatcher
    ctx.extras["recovery"] = recovery

    async def on_job_cancelled(job: JobRow) -> None:
        """T13: the record is cancelled; tell the driver to stop the attempt (P-6.6)."""
        if job.lease_driver is None:
            return
        message = CancelJob(
            driver=job.lease_driver, payload=CancelJobBody(job_id=job.id, attempt=job.attempt, reason="user")
        )
        try:
            await links.send(job.lease_driver, message)
        except LinkError as exc:
            logger.info(
                "job_id=%s driver=%s CancelJob not delivered (%s); recovery closes the lease",
                job.id,
                job.lease_driver,
                exc,
            )

    async def on_driver_change(driver_id: str, change: str) -> None:
        """Disabling, deleting or rotating a driver closes its link at once (P-5.11, P-7.2)."""
        reason = _DISCONNECT_REASON.get(change)
        if reason is None:
            return
        await links.close(driver_id, reason)
        recovery.wake()

    async def on_qpu_delete(qpu_id: str) -> None:
        for link in [link for link in links.links.values() if link.qpu_id == qpu_id]:
            await links.close(link.driver_id, "deleted")

    ctx.extras["on_job_cancelled"] = on_job_cancelled
    ctx.extras["on_driver_change"] = on_driver_change
    ctx.extras["on_qpu_delete"] = on_qpu_delete
    supervisor.add("listener", listener.run)
    supervisor.add("dispatcher", dispatcher.run)
    supervisor.add("recovery", recovery.run)
    supervisor.add("fanout", fanout.run)
    supervisor.add("heartbeats", links.heartbeats)
    return links
