"""The NNG transport of the server ↔ driver link: one ``Pair0`` socket over ``tls+tcp`` with mutual TLS.

The only module that imports :mod:`pynng`. Every pynng exception is mapped here, once, to
:class:`~qpi.errors.LinkClosed`, :class:`~qpi.errors.LinkTimeout`, :class:`~qpi.errors.MessageTooLarge` or
:class:`~qpi.errors.LinkError` (``code``: ``address_in_use``, ``connection_refused``, ``tls_failed``,
``unreachable``, ``invalid_tls_material``, ``link_error``).

* :class:`LinkListener` (server) requires a client certificate signed by the CA and closes, before it
  attaches, every pipe whose CN ``accept_cn`` refuses (P-1.3, P-1.4) or that comes while one is attached.
* :class:`LinkDialer` (driver) dials with its client certificate, the pinned CA and ``server_name``.

Both offer ``send``/``recv``, ``attached``, ``wait_attached``/``wait_detached`` and :class:`LinkEvent`
callbacks, run on the event loop (the pipe bookkeeping and its hand-over from nng's threads are in
:mod:`qpi.protocol.link`). The waits take a ``timeout`` argument (ruff ASYNC109 is silenced) because
it is part of their contract: it raises :class:`~qpi.errors.LinkTimeout`, not the builtin ``TimeoutError``.
``recv_max_size`` is set before ``listen``/``dial`` (P-1.8); nng drops a message over the receiver's
limit *and* closes the pipe, so senders call :func:`check_size` first (``send`` does when ``send_limit``
is set). The pynng 0.9.0 / nng 1.11.0 behaviours relied on are asserted in ``tests/integration/link``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import pynng

from qpi.errors import ConfigError, LinkClosed, LinkError, LinkTimeout, MessageTooLarge
from qpi.protocol.link import EventCallback, LinkEvent, PipeTracker, check_size, link_url

__all__ = ["EventCallback", "LinkDialer", "LinkEvent", "LinkListener", "check_size", "link_url"]

logger = logging.getLogger(__name__)

#: CN of the peer's verified certificate. pynng's ``Pipe`` has no attribute for this nng pipe option; the
#: descriptor is used directly (``_PEER_CN.__get__(pipe, pynng.Pipe)``) so pynng's class stays unchanged.
_PEER_CN = pynng.nng.StringOption("tls-peer-cn")

#: Messages nng keeps queued in the socket while the event loop is busy; ``recv_batch`` takes them
#: all in one go. Without a buffer, each message waited for the previous one to be taken (a thread
#: hop and a loop iteration), which capped a busy server at one message per loop iteration (~1,400
#: messages/s on the benchmark machine). Small, because each may be up to ``recv_max_size``.
RECV_BUFFER = 16


def _map_error(exc: BaseException, action: str) -> LinkError:
    """The one translation table from pynng exceptions to the QPI link errors."""
    text = f"{action}: {exc}"
    if isinstance(exc, pynng.Closed | pynng.ConnectionReset | pynng.ConnectionAborted):
        return LinkClosed(text)
    if isinstance(exc, pynng.Timeout):
        return LinkTimeout(text)
    if isinstance(exc, pynng.MessageTooLarge):
        return MessageTooLarge(text)
    if isinstance(exc, pynng.AddressInUse):
        return LinkError(text, code="address_in_use")
    if isinstance(exc, pynng.ConnectionRefused):
        return LinkError(text, code="connection_refused")
    if isinstance(exc, pynng.CryptoError | pynng.AuthenticationError | pynng.PermissionDenied):
        return LinkError(f"{text} (TLS handshake refused: check the certificates and CA)", code="tls_failed")
    if isinstance(exc, pynng.DestinationUnreachable | pynng.AddressInvalid):
        return LinkError(text, code="unreachable")
    return LinkError(text)


def _tls_config(mode: int, ca_pem: str, cert_pem: str | None, key_pem: str | None, server_name: str | None) -> Any:
    """A pynng TLS configuration: the CA as only trust anchor, peer certificate required, TLS 1.2–1.3."""
    try:
        cfg = pynng.TLSConfig(
            mode,
            server_name=server_name,
            ca_string=ca_pem,
            own_cert_string=cert_pem,
            own_key_string=key_pem,
            auth_mode=pynng.TLSConfig.AUTH_MODE_REQUIRED,
        )
        lib = pynng.lib
        pynng.check_err(lib.nng_tls_config_version(cfg._tls_config, lib.NNG_TLS_1_2, lib.NNG_TLS_1_3))
    except (pynng.NNGException, ValueError) as exc:
        raise LinkError(f"invalid TLS material for the link: {exc}", code="invalid_tls_material") from exc
    return cfg


def _pipe_removed(pipe: Any) -> bool:
    """True when nng no longer knows the pipe.

    pynng serialises its pipe callbacks with a lock, so a pipe closed during its handshake can have its
    "removed" callback handled *before* its "pre-attach" one, and pynng then drops that removal silently.
    nng forgets the pipe id right after that callback, so reading an option fails with ``NoEntry`` by the
    time the attach callback runs: such a pipe must not count as attached.
    """
    try:
        _PEER_CN.__get__(pipe, pynng.Pipe)
    except (pynng.NoEntry, pynng.Closed):
        return True
    except pynng.NNGException:
        return False
    return False


class _Link(PipeTracker):
    """What listener and dialer share: the socket, the pipe callbacks, send/recv (waits: ``PipeTracker``)."""

    def __init__(
        self, host: str, port: int, recv_max_size: int, send_timeout: float, on_event: EventCallback | None, name: str
    ) -> None:
        if recv_max_size <= 0:
            raise ConfigError(f"recv_max_size must be a positive number of bytes, got {recv_max_size}")
        if send_timeout <= 0:
            raise ConfigError(f"send_timeout must be positive, got {send_timeout}")
        super().__init__(name, on_event)
        self.host, self._port = host, port
        self.recv_max_size, self.send_timeout = recv_max_size, send_timeout
        #: The peer's receive limit: ``send`` refuses longer messages (MessageTooLarge) when set.
        self.send_limit: int | None = None
        self._sock: Any = None

    @property
    def port(self) -> int:
        return self._port

    def _new_socket(self, tls_config: Any) -> Any:
        timeout_ms = max(1, round(self.send_timeout * 1000))
        sock = pynng.Pair0(
            tls_config=tls_config,
            recv_max_size=self.recv_max_size,
            send_timeout=timeout_ms,
            recv_buffer_size=RECV_BUFFER,
        )
        sock.add_pre_pipe_connect_cb(self._on_pre_attach)
        sock.add_post_pipe_connect_cb(self._on_attach)
        sock.add_post_pipe_remove_cb(self._on_detach)
        return sock

    # ------------------------------------------------------------------- nng pipe callbacks

    def _on_pre_attach(self, pipe: Any) -> None:
        return None

    def _on_attach(self, pipe: Any) -> None:
        self._record_attach(pipe, _pipe_removed(pipe))

    # ------------------------------------------------------------------------ send / recv

    def _require_open(self) -> Any:
        if self._closed or self._sock is None:
            raise LinkClosed(f"{self.name}: the link is closed")
        return self._sock

    async def send(self, data: bytes) -> None:
        """Send one message to the attached peer.

        :class:`MessageTooLarge` over ``send_limit``; :class:`LinkClosed` when no peer is attached (nothing
        is queued for a later peer) or it went away while sending; :class:`LinkTimeout` when the peer did not
        take the message within ``send_timeout``.
        """
        sock = self._require_open()
        check_size(data, self.send_limit)
        if not self.attached:
            raise LinkClosed(f"{self.name}: no peer attached")
        try:
            try:
                sock.send(data, block=False)  # the pipe is free: handed over at once, no thread hop
            except pynng.TryAgain:
                await sock.asend(data)
        except pynng.NNGException as exc:
            if isinstance(exc, pynng.Timeout) and not self.attached:
                raise LinkClosed(f"{self.name}: the peer went away while sending") from exc
            raise _map_error(exc, f"{self.name}: send") from exc

    async def recv(self, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message from whichever pipe is attached; it keeps waiting across detach and re-attach.

        :class:`LinkTimeout` after ``timeout`` seconds (``None``: no limit; a message arriving meanwhile stays
        queued for the next call); :class:`LinkClosed` once the link is closed.
        """
        sock = self._require_open()
        try:
            if timeout is None:  # the pumps' case: no timer to arm and cancel per message
                data: bytes = await sock.arecv()
                return data
            async with asyncio.timeout(timeout):
                data = await sock.arecv()
                return data
        except TimeoutError as exc:
            raise LinkTimeout(f"{self.name}: nothing received within {timeout} s") from exc
        except pynng.NNGException as exc:
            raise _map_error(exc, f"{self.name}: receive") from exc

    async def recv_batch(self, limit: int = RECV_BUFFER) -> list[bytes]:
        """The next message (waiting as :meth:`recv` does) and those already queued behind it, in order.

        The queued ones are taken without waiting, so a burst costs one wake-up of the event loop,
        not one per message. An error while taking them ends the batch; it surfaces on the next call.
        """
        batch = [await self.recv()]
        sock = self._sock
        while len(batch) < limit and sock is not None:
            try:
                batch.append(sock.recv(block=False))
            except pynng.NNGException:  # TryAgain: nothing queued; anything else: reported next time
                break
        return batch

    def disconnect_peer(self) -> None:
        """Close the attached pipe; the socket stays open and a new peer may attach."""
        with self._lock:
            pipes = list(self._pipes.values())
        for pipe in pipes:
            with contextlib.suppress(pynng.NNGException):
                pipe.close()

    async def aclose(self) -> None:
        """Close the socket and its pipes; pending and later ``recv``/``send`` raise :class:`LinkClosed`."""
        if self._closed:
            return
        self._closed = True
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        self._forget_pipes()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class LinkListener(_Link):
    """Server side of one driver's link: ``async with LinkListener(...) as link``.

    ``accept_cn`` is called on an nng thread with the CN of each verified client certificate; it must be
    quick and thread-safe (compare with the driver's current ``<driver_id>/<session>``). A pipe it refuses,
    or that raises, is closed before it attaches. A port in use raises :class:`LinkError` with code
    ``address_in_use`` so the caller can try the next one (P-1.7); ``port=0`` binds a free port (:attr:`port`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        cert_pem: str,
        key_pem: str,
        ca_pem: str,
        recv_max_size: int,
        accept_cn: Callable[[str], bool],
        send_timeout: float = 5.0,
        on_event: EventCallback | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(host, port, recv_max_size, send_timeout, on_event, name or f"listener:{port}")
        self._cert_pem, self._key_pem, self._ca_pem = cert_pem, key_pem, ca_pem
        self._accept_cn = accept_cn
        self._listener: Any = None
        self._tls: Any = None
        self._reload_pending = False

    @property
    def rejections(self) -> int:
        """How many pipes were closed before attaching (CN refused, no CN, or busy)."""
        return self._rejections

    @property
    def reload_pending(self) -> bool:
        """True while a deferred certificate reload waits for the attached pipe to detach."""
        return self._reload_pending

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._sock = self._new_socket(None)
        try:
            self._listen()
        except BaseException:
            await self.aclose()
            raise
        return self

    def _listen(self) -> None:
        self._tls = _tls_config(pynng.TLSConfig.MODE_SERVER, self._ca_pem, self._cert_pem, self._key_pem, None)
        sock = self._require_open()
        sock.tls_config = self._tls  # applies to the listeners created from now on
        url = link_url(self.host, self._port)
        try:
            self._listener = sock.listen(url)
        except pynng.NNGException as exc:
            raise _map_error(exc, f"{self.name}: listen on {url}") from exc
        if self._port == 0:  # pynng's SockAddr.port is byte-swapped; its str() is right
            self._port = int(str(self._listener.local_address).rsplit(":", 1)[1])
        logger.info("%s: listening on %s", self.name, link_url(self.host, self._port))

    def _reject(self, pipe: Any, cn: str | None, reason: str) -> None:  # nng thread
        with contextlib.suppress(pynng.NNGException):
            pipe.close()
        self._record_rejection(pipe.id, cn, reason)

    def _on_pre_attach(self, pipe: Any) -> None:  # nng thread
        try:
            cn: str | None = _PEER_CN.__get__(pipe, pynng.Pipe)
        except pynng.NNGException:
            cn = None
        if not cn:
            self._reject(pipe, None, "no_cn")
            return
        try:
            accepted = bool(self._accept_cn(cn))
        except Exception:
            logger.exception("%s: accept_cn raised for %r; refusing the pipe", self.name, cn)
            accepted = False
        if not accepted:
            self._reject(pipe, cn, "cn")
        elif self.attached:
            self._reject(pipe, cn, "busy")
        else:
            with self._lock:
                self._cns[pipe.id] = cn

    def _on_attach(self, pipe: Any) -> None:  # nng thread
        with self._lock:
            gone, approved = pipe.id in self._gone, pipe.id in self._cns
        if not gone and not approved:  # never passed the pre-attach check: refuse, whatever the order
            self._reject(pipe, None, "no_cn")
        elif not gone:
            super()._on_attach(pipe)

    def _deliver(self, event: LinkEvent) -> None:  # on the event loop
        super()._deliver(event)
        if event.kind == "detached" and self._reload_pending and not self.attached and not self._closed:
            try:
                self._rebuild()
            except LinkError:
                logger.exception("%s: rebuilding the listener with the new certificate failed", self.name)

    def reload_certificate(self, cert_pem: str, key_pem: str, *, defer_while_attached: bool = False) -> bool:
        """Rebuild the listener on the same port with a new server certificate (P-1.6).

        nng cannot change a running listener's certificate, and closing a listener closes its pipes: an
        immediate reload therefore **drops the attached pipe** (the driver reconnects, P-5.6). With
        ``defer_while_attached=True`` and a peer attached, the certificate is stored and the listener is
        rebuilt right after that pipe detaches (an established TLS session never needs it again); returns
        False then, True when rebuilt now. If another process takes the port in the instant between close
        and listen, :class:`LinkError` (``address_in_use``) is raised and nothing listens any more.
        """
        self._require_open()
        self._cert_pem, self._key_pem = cert_pem, key_pem
        if defer_while_attached and self.attached:
            self._reload_pending = True
            logger.info("%s: new server certificate stored; the listener is rebuilt after detach", self.name)
            return False
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        self._reload_pending = False
        old, self._listener = self._listener, None
        if old is not None:
            with contextlib.suppress(pynng.NNGException, KeyError):
                old.close()
        self._listen()
        logger.info("%s: listener rebuilt with the new server certificate", self.name)
        self._post(LinkEvent("reloaded", 0))


class LinkDialer(_Link):
    """Driver side: ``async with LinkDialer(...) as link`` returns once the dial succeeded.

    The blocking nng dial runs in a worker thread, so the event loop never blocks, and it reports the precise
    failure: :class:`LinkError` ``tls_failed`` (certificate refused, server not trusted), ``connection_refused``
    or ``unreachable``; :class:`LinkTimeout` after ``dial_timeout``. A successful dial can still be refused by
    the server's CN check or because another driver is attached: the pipe then detaches within milliseconds
    (see :meth:`wait_detached`, the events, or the missing ``Welcome``). After losing a pipe, nng redials in
    the background (``reconnect_min_s`` to ``reconnect_max_s``) until the link is closed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ca_pem: str,
        server_name: str,
        cert_pem: str | None,
        key_pem: str | None,
        recv_max_size: int,
        send_timeout: float = 5.0,
        dial_timeout: float = 10.0,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 10.0,
        on_event: EventCallback | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(host, port, recv_max_size, send_timeout, on_event, name or f"dialer:{port}")
        self._ca_pem, self._server_name = ca_pem, server_name
        self._cert_pem, self._key_pem = cert_pem, key_pem
        self.dial_timeout = dial_timeout
        self._reconnect_ms = (max(1, round(reconnect_min_s * 1000)), max(1, round(reconnect_max_s * 1000)))
        self._tls: Any = None

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        mode = pynng.TLSConfig.MODE_CLIENT
        self._tls = _tls_config(mode, self._ca_pem, self._cert_pem, self._key_pem, self._server_name)
        sock = self._sock = self._new_socket(self._tls)
        sock.reconnect_time_min, sock.reconnect_time_max = self._reconnect_ms
        url = link_url(self.host, self._port)
        try:
            async with asyncio.timeout(self.dial_timeout):
                await asyncio.to_thread(sock.dial, url, block=True)
        except TimeoutError as exc:
            await self.aclose()  # closing the socket ends the dial still running in its thread
            raise LinkTimeout(f"{self.name}: dialling {url} took more than {self.dial_timeout} s") from exc
        except pynng.NNGException as exc:
            await self.aclose()
            raise _map_error(exc, f"{self.name}: dial {url}") from exc
        except BaseException:
            await self.aclose()
            raise
        logger.info("%s: dialled %s", self.name, url)
        return self
