"""One worker process seen from the driver: start it, watch it, signal it.

A :class:`WorkerProcess` owns a ``multiprocessing`` process started with ``forkserver`` on Linux
(``spawn`` elsewhere; never ``fork``: the driver holds NNG/TLS state), its end of the duplex pipe,
and a watcher thread. The thread blocks in ``multiprocessing.connection.wait`` on the pipe and
the process sentinel (no polling), decodes what the worker sends, re-emits the worker's log
records in the driver's logging, hands every other message to ``on_message`` and, once the
process has ended, calls ``on_exit(exitcode)`` exactly once. Both callbacks run in the watcher
thread; the pool hops to its event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess

import msgspec

from qpi.driver import worker_messages as wm
from qpi.driver.worker import worker_main

__all__ = ["WorkerProcess", "mp_context"]

logger = logging.getLogger(__name__)


def mp_context() -> BaseContext:
    """``forkserver`` on Linux, ``spawn`` elsewhere (E-1.7)."""
    return multiprocessing.get_context("forkserver" if sys.platform.startswith("linux") else "spawn")


class WorkerProcess:
    """A started worker process, its pipe and its watcher thread."""

    def __init__(
        self,
        spec: wm.WorkerSpec,
        *,
        context: BaseContext,
        on_message: Callable[[wm.ToParent], None],
        on_exit: Callable[[int | None], None],
    ) -> None:
        self.spec = spec
        self._context = context
        self._on_message = on_message
        self._on_exit = on_exit
        self._conn: Connection | None = None
        self.process: BaseProcess | None = None
        self._send_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        """Start the process and its watcher (blocks for the fork, not for the executor's init)."""
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(child_end, self.spec),
            name=f"qpi-worker-{self.spec.name}-{self.spec.index}",
            daemon=False,
        )
        try:
            process.start()
        finally:
            child_end.close()
        self.process = process
        self._conn = parent_end
        threading.Thread(
            target=self._watch, name=f"qpi-pool-watch-{self.spec.index}-{process.pid}", daemon=True
        ).start()

    def send(self, message: wm.ToWorker) -> bool:
        """Queue a message for the worker; False when the pipe is already closed."""
        conn = self._conn
        if conn is None:
            return False
        data = wm.encode(message)
        try:
            with self._send_lock:
                conn.send_bytes(data)
        except (OSError, ValueError) as exc:
            logger.debug("worker %s: send failed: %s", self.spec.index, exc)
            return False
        return True

    def terminate(self) -> None:
        """SIGTERM (the worker runs ``close()`` and exits if its code is interruptible)."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()

    def kill(self) -> None:
        """SIGKILL."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()

    def _watch(self) -> None:
        conn, process = self._conn, self.process
        assert conn is not None
        assert process is not None
        try:
            while True:
                ready = wait([conn, process.sentinel])
                if conn in ready:
                    if not self._receive(conn):
                        break
                    continue
                while conn.poll() and self._receive(conn):  # the process ended: read what is left
                    pass
                break
        finally:
            process.join()
            exitcode = process.exitcode
            conn.close()
            self._conn = None
            self._on_exit(exitcode)

    def _receive(self, conn: Connection) -> bool:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return False
        try:
            message = wm.decode_to_parent(data)
        except msgspec.DecodeError:
            logger.exception("worker %s sent an undecodable message", self.spec.index)
            return True
        if isinstance(message, wm.LogLine):
            _relog(message)
        else:
            self._on_message(message)
        return True


def _relog(line: wm.LogLine) -> None:
    target = logging.getLogger(line.name)
    if not target.isEnabledFor(line.level):
        return
    record = target.makeRecord(line.name, line.level, "(worker)", 0, line.message, (), None)
    record.created = line.created
    record.exc_text = line.exc_text
    target.handle(record)
