"""Driver links of this replica: one NNG listener per connected driver, and what we know of each link.

A driver's listener is opened by ``/connect`` before it replies (P-2.5) and kept for the driver's
lifetime on its allocated port. Only a pipe whose client-certificate CN is ``<driver_id>/<current
session>`` attaches (P-1.4). A pump task per link moves received messages, stamped with their
receipt time, into one queue that the supervised *listener* loop drains.

Nothing here is authoritative (C9): capacity comes from heartbeats, leases from the job rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from qpi.errors import LinkClosed, LinkError
from qpi.protocol.link import LinkEvent
from qpi.protocol.messages import (
    Disconnect,
    DisconnectBody,
    DisconnectReason,
    Envelope,
    HeldJob,
    ServerHeartbeat,
    ServerHeartbeatBody,
    encode,
)
from qpi.protocol.transport import LinkListener
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.scheduling import DriverState, LinkState, QpuSnapshot

__all__ = ["Inbound", "Link", "LinkManager"]

logger = logging.getLogger(__name__)


@dataclass
class Inbound:
    driver_id: str
    session: int
    data: bytes
    received_us: int


@dataclass
class Link:
    driver_id: str
    qpu_id: str
    port: int
    listener: LinkListener
    session: int = 0
    instance_id: str = ""
    state: LinkState = "connecting"
    last_seen_us: int = 0
    db_seen_us: int = 0  # the last ``last_seen`` written to the database (P-4.2)
    workers_total: int = 0
    workers_ready: int = 0
    workers_busy: int = 0
    held: list[HeldJob] = field(default_factory=list)
    last_held_us: int | None = None
    suspect: bool = False
    last_dispatch: datetime | None = None
    max_held_per_worker: int = 1
    send_limit: int | None = None
    pump: asyncio.Task[None] | None = None
    heartbeat_seq: int = 0
    executor_error: str | None = None
    #: The first session of a new instance that took this driver over (P-2.9): older sessions' jobs are lost.
    takeover_session: int | None = None

    @property
    def attached(self) -> bool:
        return self.listener.attached


class LinkManager:
    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.links: dict[str, Link] = {}
        self.inbox: asyncio.Queue[Inbound] = asyncio.Queue()
        self._accepted: dict[str, str] = {}  # driver id -> the one CN allowed to attach
        self._lock = threading.Lock()
        self._open_lock = asyncio.Lock()
        self.on_detach: list[object] = []

    # --- lifecycle ----------------------------------------------------------------------------

    def _accept(self, driver_id: str) -> Callable[[str], bool]:
        def accept(cn: str) -> bool:  # nng thread
            with self._lock:
                return self._accepted.get(driver_id) == cn

        return accept

    async def open(self, driver_id: str, qpu_id: str, session: int, *, port_start: int, port_end: int) -> Link:
        """Ensure the driver's listener is bound and accepts only ``<driver_id>/<session>``."""
        async with self._open_lock:
            with self._lock:
                self._accepted[driver_id] = f"{driver_id}/{session}"
            link = self.links.get(driver_id)
            if link is not None and not link.listener.closed:
                if link.session != session and link.attached:
                    link.listener.disconnect_peer()  # an older session's pipe (P-2.9)
                link.session = session
                link.state = "connecting"
                return link
            busy: set[int] = set()
            tls = self.ctx.tls
            assert tls is not None
            while True:
                port = await self.ctx.store.drivers.allocate_port(
                    driver_id, start=port_start, end=port_end, skip=frozenset(busy)
                )
                listener = LinkListener(
                    self.ctx.config.host,
                    port,
                    cert_pem=tls.cert_pem,
                    key_pem=tls.key_pem,
                    ca_pem=tls.ca_cert_pem,
                    recv_max_size=self.ctx.config.max_message_size,
                    accept_cn=self._accept(driver_id),
                    on_event=functools.partial(self._on_event, driver_id),
                    name=f"driver {driver_id}",
                )
                try:
                    await listener.__aenter__()
                except LinkError as exc:
                    if exc.code == "address_in_use":
                        logger.warning("driver=%s port %d is in use; trying the next one", driver_id, port)
                        busy.add(port)
                        continue
                    raise
                break
            listener.send_limit = self.ctx.config.max_message_size
            link = Link(driver_id=driver_id, qpu_id=qpu_id, port=port, listener=listener, session=session)
            link.pump = asyncio.create_task(self._pump(link), name=f"qpi:link:{driver_id}")
            self.links[driver_id] = link
            logger.info("driver=%s listening on port %d for session %d", driver_id, port, session)
            return link

    def _on_event(self, driver_id: str, event: LinkEvent) -> None:
        link = self.links.get(driver_id)
        if event.kind == "rejected":
            logger.warning("driver=%s refused a pipe (%s, cn=%s)", driver_id, event.reason, event.peer_cn)
        elif event.kind == "detached" and link is not None:
            logger.info("driver=%s link detached", driver_id)
        elif event.kind == "attached" and link is not None:
            logger.info("driver=%s link attached (cn=%s)", driver_id, event.peer_cn)

    async def _pump(self, link: Link) -> None:
        while True:
            try:
                batch = await link.listener.recv_batch()
            except LinkClosed:
                return
            except LinkError:
                logger.exception("driver=%s receive failed", link.driver_id)
                await asyncio.sleep(0.5)
                continue
            now_us = self.ctx.clock.now_us()
            for data in batch:
                self.inbox.put_nowait(Inbound(link.driver_id, link.session, data, now_us))

    async def close(self, driver_id: str, reason: DisconnectReason | None = None, *, forget: bool = True) -> None:
        """Tell the driver why (``Disconnect``), close its pipe and, with ``forget``, its listener."""
        link = self.links.get(driver_id)
        if link is None:
            return
        if reason is not None and link.attached:
            with contextlib.suppress(LinkError):
                await self.send(driver_id, Disconnect(driver=driver_id, payload=DisconnectBody(reason=reason)))
        link.state = "offline"
        if not forget:
            link.listener.disconnect_peer()
            return
        with self._lock:
            self._accepted.pop(driver_id, None)
        self.links.pop(driver_id, None)
        if link.pump is not None:
            link.pump.cancel()
        await link.listener.aclose()

    async def shutdown(self) -> None:
        for driver_id in list(self.links):
            await self.close(driver_id, "server_shutdown")

    def reload_certificates(self, cert_pem: str, key_pem: str) -> None:
        for link in self.links.values():
            link.listener.reload_certificate(cert_pem, key_pem, defer_while_attached=True)

    # --- sending --------------------------------------------------------------------------------

    async def send(self, driver_id: str, message: Envelope) -> None:
        link = self.links.get(driver_id)
        if link is None:
            raise LinkClosed(f"driver {driver_id} has no link on this replica")
        await link.listener.send(encode(message))

    async def heartbeats(self) -> None:
        """``ServerHeartbeat`` on every attached link each interval: a driver that hears nothing from the
        server for ``heartbeat_misses`` intervals drops the link and reconnects (P-4)."""
        while True:
            await asyncio.sleep(self.ctx.config.heartbeat_interval)
            now = from_us(self.ctx.clock.now_us())
            for link in list(self.links.values()):
                if not link.attached:
                    continue
                link.heartbeat_seq += 1
                beat = ServerHeartbeat(
                    driver=link.driver_id, payload=ServerHeartbeatBody(seq=link.heartbeat_seq, server_time=now)
                )
                try:
                    await link.listener.send(encode(beat))
                except LinkError as exc:  # detached in between: the driver reconnects on its own
                    logger.debug("driver=%s ServerHeartbeat not sent: %s", link.driver_id, exc)

    # --- what the policy needs --------------------------------------------------------------------

    def live(self, driver_id: str, now_us: int) -> bool:
        """A session is live: pipe attached and a message within one miss window (P-2.9)."""
        link = self.links.get(driver_id)
        window = self.ctx.config.heartbeat_interval * self.ctx.config.heartbeat_misses
        return link is not None and link.attached and (now_us - link.last_seen_us) < window * 1_000_000

    def overlay(self, snap: QpuSnapshot) -> QpuSnapshot:
        """Replace the driver facts only this replica knows: attached, link state, liveness, capacity."""
        drivers = []
        for d in snap.drivers:
            link = self.links.get(d.id)
            if link is None:
                drivers.append(msgspec.structs.replace(d, attached=False))
                continue
            drivers.append(
                DriverState(
                    id=d.id,
                    role=d.role,
                    enabled=d.enabled,
                    link_state=link.state,
                    attached=link.attached,
                    last_seen=from_us(link.last_seen_us) if link.last_seen_us else None,
                    suspect=link.suspect,
                    workers_ready=link.workers_ready,
                    open_leases=d.open_leases,
                    last_dispatch_at=link.last_dispatch,
                )
            )
        return msgspec.structs.replace(snap, drivers=tuple(drivers))
