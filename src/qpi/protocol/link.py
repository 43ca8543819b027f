"""What both ends of the link share, without pynng: events, size and URL helpers, pipe bookkeeping.

:class:`PipeTracker` keeps the set of attached pipes and their peer CNs. nng calls its pipe callbacks on
its own threads, so the bookkeeping is guarded by a lock and every change is handed over to the event loop
(``loop.call_soon_threadsafe``), where :class:`LinkEvent` callbacks run and the waits wake up. The socket
itself lives in :mod:`qpi.protocol.transport`, the only module that imports pynng.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from qpi.errors import LinkClosed, LinkTimeout, MessageTooLarge

__all__ = ["EventCallback", "LinkEvent", "PipeTracker", "check_size", "link_url"]

logger = logging.getLogger("qpi.protocol.transport")  # one logger for the whole link layer


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """A pipe change, or ``reloaded`` (listener rebuilt with a new certificate; ``pipe_id`` 0).

    ``reason`` is set for ``rejected`` pipes: ``cn`` (refused by ``accept_cn``), ``busy`` (a pipe is
    already attached) or ``no_cn`` (no verified certificate CN).
    """

    kind: Literal["attached", "detached", "rejected", "reloaded"]
    pipe_id: int
    peer_cn: str | None = None
    reason: str | None = None


EventCallback = Callable[[LinkEvent], None]


def check_size(data: bytes, limit: int | None) -> None:
    """Raise :class:`MessageTooLarge` when ``data`` is longer than ``limit`` bytes (``None``/0: no limit)."""
    if limit and len(data) > limit:
        raise MessageTooLarge(f"message of {len(data)} bytes exceeds the link limit of {limit} bytes")


def link_url(host: str, port: int) -> str:
    """``tls+tcp://host:port``, with IPv6 literals in brackets."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"tls+tcp://{host}:{port}"


class PipeTracker:
    """The attached pipes of one socket, kept from nng's threads, and their hand-over to the event loop."""

    def __init__(self, name: str, on_event: EventCallback | None) -> None:
        self.name = name
        self._on_event = on_event
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()  # guards the three collections below (nng threads + the loop)
        self._pipes: dict[int, Any] = {}  # attached pipe id -> pynng.Pipe
        self._cns: dict[int, str | None] = {}  # pipe id -> peer CN, from pre-attach to detach
        self._gone: collections.deque[int] = collections.deque(maxlen=256)  # removed before attached
        self._changed = asyncio.Event()
        self._closed = False
        self._rejections = 0  # pipes closed before attaching (listener side)
        self._last_rejected_cn: str | None = None

    @property
    def attached(self) -> bool:
        """True while a peer pipe is attached (kept on nng's threads, so always current)."""
        with self._lock:
            return bool(self._pipes)

    @property
    def peer_cn(self) -> str | None:
        """CN of the attached peer's certificate (listener side), else ``None``."""
        with self._lock:
            return next((self._cns.get(pid) for pid in self._pipes), None)

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------- nng threads → event loop

    def _record_attach(self, pipe: Any, removed: bool) -> None:  # nng thread
        """Count ``pipe`` as attached, unless nng already removed it (``removed``, or seen in ``_gone``)."""
        with self._lock:
            if removed or pipe.id in self._gone:
                logger.debug("%s: pipe %s attached after its removal; ignored", self.name, pipe.id)
                return
            self._pipes[pipe.id] = pipe
            cn = self._cns.get(pipe.id)
        self._post(LinkEvent("attached", pipe.id, cn))

    def _record_rejection(self, pipe_id: int, cn: str | None, reason: str) -> None:  # nng thread, pipe closed
        with self._lock:
            self._cns.pop(pipe_id, None)
            self._rejections += 1
            repeated, self._last_rejected_cn = cn == self._last_rejected_cn, cn
        # One warning per CN in a row: a superseded driver may redial every second.
        (logger.debug if repeated else logger.warning)("%s: refused a pipe (%s), CN %r", self.name, reason, cn)
        self._post(LinkEvent("rejected", pipe_id, cn, reason))

    def _on_detach(self, pipe: Any) -> None:  # also called for pipes that never attached
        with self._lock:
            was_attached = self._pipes.pop(pipe.id, None) is not None
            cn = self._cns.pop(pipe.id, None)
            if not was_attached:
                self._gone.append(pipe.id)
        if was_attached:
            self._post(LinkEvent("detached", pipe.id, cn))

    def _post(self, event: LinkEvent) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is listening any more
                self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: LinkEvent) -> None:  # on the event loop
        level = logging.INFO if event.kind in ("attached", "detached") else logging.DEBUG
        extra = "".join(f" {k}={v}" for k, v in (("cn", event.peer_cn), ("reason", event.reason)) if v)
        logger.log(level, "%s: pipe %s %s%s", self.name, event.pipe_id, event.kind, extra)
        self._changed.set()
        self._changed = asyncio.Event()
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("%s: link event callback failed on %s", self.name, event)

    def _forget_pipes(self) -> None:
        """On close: no pipe is attached any more; wake every waiter."""
        with self._lock:
            self._pipes.clear()
            self._cns.clear()
        self._changed.set()

    # ------------------------------------------------------------------------------ waits

    async def _wait_for(self, want_attached: bool, timeout: float | None) -> None:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                while self.attached != want_attached:
                    if self._closed:
                        raise LinkClosed(f"{self.name}: the link is closed")
                    await self._changed.wait()
        except TimeoutError as exc:
            state = "attached" if want_attached else "detached"
            raise LinkTimeout(f"{self.name}: no pipe {state} within {timeout} s") from exc

    async def wait_attached(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once a peer is attached; :class:`LinkTimeout` after ``timeout`` seconds."""
        await self._wait_for(True, timeout)

    async def wait_detached(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once no peer is attached; :class:`LinkTimeout` after ``timeout`` seconds."""
        await self._wait_for(False, timeout)
