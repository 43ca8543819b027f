"""One link session of the driver: Hello/Welcome, heartbeats, dispatches, cancels, acks, drain.

The session ends when the pipe detaches, the server says ``Disconnect``, nothing arrives from the
server for ``heartbeat_misses`` intervals, or the driver stops (then it drains over the link:
``Heartbeat(draining)``, ``JobRejected(draining)`` for unstarted jobs, results, ``Goodbye``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from qpi.aio import wait_event
from qpi.errors import LinkClosed, LinkError, LinkTimeout
from qpi.protocol.messages import (
    CancelJob,
    DeviceInfo,
    Disconnect,
    Envelope,
    Goodbye,
    GoodbyeBody,
    Heartbeat,
    HeartbeatBody,
    Hello,
    HelloBody,
    JobAccepted,
    JobAcceptedBody,
    JobDispatch,
    JobRejected,
    JobRejectedBody,
    ResultAck,
    UnknownMessage,
    Welcome,
    decode,
    encode,
)
from qpi.protocol.transport import LinkDialer

if TYPE_CHECKING:
    from qpi.driver.daemon import Driver
    from qpi.driver.handshake import ConnectReply

__all__ = ["LinkSession"]

logger = logging.getLogger(__name__)


class LinkSession:
    def __init__(self, driver: Driver, dialer: LinkDialer, reply: ConnectReply, limit: int) -> None:
        self.driver = driver
        self.dialer = dialer
        self.reply = reply
        self.limit = limit
        self.state = "connecting"
        self.seq = 0
        self.lost = asyncio.Event()
        self.welcomed = asyncio.Event()
        self.acked = asyncio.Event()
        self.last_server = time.monotonic()

    @property
    def pool(self) -> Any:
        return self.driver.pool

    # --- sending ---------------------------------------------------------------------------

    async def send(self, message: Envelope) -> None:
        await self.send_raw(encode(message))

    async def send_raw(self, data: bytes) -> None:
        if self.lost.is_set():
            return
        try:
            await self.dialer.send(data)
        except (LinkClosed, LinkTimeout) as exc:
            logger.warning("driver=%s link lost while sending: %s", self.reply.driver_id, exc)
            self.lost.set()

    def _heartbeat_body(self) -> HeartbeatBody:
        total, ready, busy, error = self.pool.status()
        if self.driver.outbox.full() or self.state == "draining":
            ready = 0
        self.seq += 1
        return HeartbeatBody(
            seq=self.seq,
            state="draining" if self.state == "draining" else "online",
            workers_total=total,
            workers_ready=ready,
            workers_busy=busy,
            held=self.pool.held(),
            outbox_len=len(self.driver.outbox),
            executor_error=error,
        )

    async def heartbeat(self) -> None:
        if self.state in ("online", "draining"):
            await self.send(Heartbeat(driver=self.reply.driver_id, payload=self._heartbeat_body()))

    async def send_device_info(self) -> None:
        info = self.pool.device_info
        if info is not None and self.state == "online":
            await self.send(DeviceInfo(driver=self.reply.driver_id, payload=info))

    async def resend_outbox(self) -> None:
        for _ref, data in self.driver.outbox.items():
            await self.send_raw(data)

    # --- the session ----------------------------------------------------------------------------

    async def serve(self) -> bool:
        """Run the session; True when it reached ``online`` (the backoff resets)."""
        r = self.reply
        total, ready, _busy, error = self.pool.status()
        hello = Hello(
            driver=r.driver_id,
            payload=HelloBody(
                session=r.session,
                instance_id=self.driver.instance_id,
                workers_total=total,
                workers_ready=ready,
                held=self.pool.held(),
                outbox=self.driver.outbox.refs(),
                versions=self.driver.versions,
                executor_error=error,
            ),
        )
        receiver = asyncio.create_task(self._receive(), name="qpi:link-recv")
        watcher = asyncio.create_task(self._watch_detach(), name="qpi:link-watch")
        tasks = [receiver, watcher]
        try:
            await self.send(hello)
            if not await wait_event(self.welcomed, r.hello_timeout_s):
                logger.warning("driver=%s no Welcome within %.0f s", r.driver_id, r.hello_timeout_s)
                return False
            self.state = "online"
            logger.info(
                "driver=%s online: session %d on %s:%d (QPU %s)",
                r.driver_id,
                r.session,
                r.nng_host,
                r.nng_port,
                r.qpu_name,
            )
            await self.send_device_info()
            await self.resend_outbox()
            tasks.append(asyncio.create_task(self._heartbeats(), name="qpi:heartbeats"))
            stop = asyncio.create_task(self.driver.stopping.wait())
            lost = asyncio.create_task(self.lost.wait())
            await asyncio.wait([stop, lost], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            lost.cancel()
            if self.driver.stopping.is_set() and not self.lost.is_set():
                await self._drain()
            return True
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, LinkError):
                    await task

    async def _watch_detach(self) -> None:
        await self.dialer.wait_attached(timeout=self.reply.hello_timeout_s)
        await self.dialer.wait_detached()
        logger.warning("driver=%s link detached", self.reply.driver_id)
        self.lost.set()

    async def _heartbeats(self) -> None:
        r = self.reply
        silence = r.heartbeat_interval_s * r.heartbeat_misses
        tick = 0
        while not self.lost.is_set():
            await asyncio.sleep(r.heartbeat_interval_s)
            await self.heartbeat()
            tick += 1
            if tick % 2 == 0:
                await self.resend_outbox()  # unacked results, every 2 intervals (P-5.7)
            if time.monotonic() - self.last_server > silence:
                logger.warning("driver=%s nothing from the server for %.0f s; link lost", r.driver_id, silence)
                self.lost.set()

    async def _receive(self) -> None:
        while True:
            try:
                batch = await self.dialer.recv_batch()
            except LinkError:
                self.lost.set()
                return
            self.last_server = time.monotonic()
            for data in batch:
                await self._handle(decode(data))

    async def _handle(self, msg: Any) -> None:
        r = self.reply
        pool = self.pool
        if isinstance(msg, Welcome):
            for ref in msg.payload.cancel:
                pool.cancel(ref.job_id, ref.attempt)
            self.welcomed.set()
        elif isinstance(msg, JobDispatch):
            p = msg.payload
            cap = self.driver.config.job_timeout
            timeout = min(p.timeout_s, cap) if cap else p.timeout_s
            if self.state != "online" or self.driver.outbox.full():
                reason = "draining" if self.state == "draining" else "no_free_worker"
                result: Any = reason
            else:
                result = pool.try_assign(p.job_id, p.attempt, p.payload, timeout if math.isfinite(timeout) else 1e9)
            if isinstance(result, int):
                await self.send(
                    JobAccepted(
                        driver=r.driver_id, payload=JobAcceptedBody(job_id=p.job_id, attempt=p.attempt, worker=result)
                    )
                )
            else:
                await self.send(
                    JobRejected(
                        driver=r.driver_id,
                        payload=JobRejectedBody(
                            job_id=p.job_id, attempt=p.attempt, reason=result, detail=f"the driver is {result}"
                        ),
                    )
                )
        elif isinstance(msg, CancelJob):
            if not pool.cancel(msg.payload.job_id, msg.payload.attempt):
                logger.debug(
                    "CancelJob for job_id=%s attempt=%d not held; ignored", msg.payload.job_id, msg.payload.attempt
                )
        elif isinstance(msg, ResultAck):
            self.driver.outbox.remove(msg.payload.job_id, msg.payload.attempt)
            self.acked.set()
        elif isinstance(msg, Disconnect):
            logger.warning("driver=%s the server disconnected this link: %s", r.driver_id, msg.payload.reason)
            self.lost.set()
        elif isinstance(msg, UnknownMessage):
            logger.warning("unknown or malformed message %s from the server: %s", msg.type, msg.error)

    async def _drain(self) -> None:
        """P-5.8: announce draining, hand back unstarted jobs, finish running ones, Goodbye."""
        r = self.reply
        self.state = "draining"
        await self.heartbeat()
        for ref in self.pool.begin_drain():
            body = JobRejectedBody(
                job_id=ref.job_id, attempt=ref.attempt, reason="draining", detail="the driver is shutting down"
            )
            await self.send(JobRejected(driver=r.driver_id, payload=body))
        await self.pool.drain(self.driver.config.shutdown_grace)
        self.driver.drained = True
        deadline = time.monotonic() + max(2.0, 2 * r.heartbeat_interval_s)
        if len(self.driver.outbox):
            await self.resend_outbox()  # results finished while draining are already on their way
        while len(self.driver.outbox) and not self.lost.is_set():
            self.acked.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not await wait_event(self.acked, remaining):
                break
        await self.send(Goodbye(driver=r.driver_id, payload=GoodbyeBody(reason="shutdown")))
        logger.info("driver=%s drained; goodbye", r.driver_id)
