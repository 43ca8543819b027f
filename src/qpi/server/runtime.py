"""``Server``: owns the data directory, TLS material, store, supervisor and the HTTP server.

``async with Server(config) as server: await server.serve()`` is all ``qpi serve`` does. The
Litestar lifespan starts and stops the supervised tasks, so the test client runs them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from litestar import Litestar

from qpi.errors import ConfigError
from qpi.server.app import create_app
from qpi.server.clock import Clock, SystemClock
from qpi.server.context import ServerContext
from qpi.server.housekeeping import housekeeping_loop, wal_checkpoint_loop
from qpi.server.localmode import LocalSetup, ensure_local, run_local_driver
from qpi.server.store import Store, TableNames
from qpi.server.supervisor import Supervisor
from qpi.server.tls import TlsPaths, ensure_tls
from qpi.server.wiring import wire_link_layer

if TYPE_CHECKING:
    from qpi.config import ServeConfig

__all__ = ["Server", "table_names"]

logger = logging.getLogger(__name__)


def table_names(config: ServeConfig) -> TableNames:
    return TableNames.from_options(config.table_names)


class Server:
    def __init__(self, config: ServeConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.supervisor = Supervisor(on_health=self._on_health)
        self._stack = contextlib.AsyncExitStack()
        self._lock_file: IO[str] | None = None
        self.ctx: ServerContext | None = None
        self.app: Litestar | None = None
        self.uvicorn: Any = None
        self.local: LocalSetup | None = None

    def _on_health(self, failing: list[str]) -> None:
        if self.ctx is not None:
            self.ctx.failing_tasks = failing
            self.ctx.tasks_healthy = not failing

    async def __aenter__(self) -> Server:
        config = self.config
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._take_lock()
        try:
            tls = ensure_tls(
                TlsPaths(
                    ca_cert=config.tls_ca_cert_file,
                    ca_key=config.tls_ca_key_file,
                    cert=config.tls_cert_file,
                    key=config.tls_key_file,
                ),
                sans=[s for s in (config.ip_addr, config.domain) if s],
                now=datetime.now(UTC),
            )
            _import_circuit_parsers()
            store = await self._stack.enter_async_context(
                Store.open(
                    config.database_url,
                    table_names(config),
                    pool_size=config.db_pool_size,
                    auto_migrate=config.auto_migrate,
                )
            )
            ctx = self.ctx = ServerContext.build(config, store, self.clock, tls=tls)
            self.links = wire_link_layer(ctx, self.supervisor)
            self.supervisor.add("housekeeping", lambda: housekeeping_loop(ctx))
            if store.dialect == "sqlite":
                self.supervisor.add("wal-checkpoint", lambda: wal_checkpoint_loop(ctx))
            await self._reconcile()
            if config.local_qpu:
                setup = self.local = await ensure_local(ctx)
                self.supervisor.add("local-driver", lambda: run_local_driver(ctx, setup))
            self.app = create_app(ctx, lifespan=[self._lifespan])
        except BaseException:
            await self._stack.aclose()
            self._release_lock()
            raise
        return self

    async def _reconcile(self) -> None:
        """S2: no driver is attached at start; statuses go offline until each says Hello again (S3-S5)."""
        assert self.ctx is not None
        now = self.clock.now_us()
        for qpu_id in await self.ctx.store.drivers.mark_all_offline(now):
            await self.ctx.store.qpus.refresh_status(qpu_id, now=now)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        await self.supervisor.start()
        try:
            yield
        finally:
            await self.links.shutdown()  # Disconnect(server_shutdown) to attached drivers (P-5.10)
            await self.supervisor.stop()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._stack.aclose()
        finally:
            self._release_lock()

    def _take_lock(self) -> None:
        """S1: one server per SQLite file (a second one refuses to start)."""
        path = self.config.sqlite_path
        if path is None:
            return
        lock_path = Path(str(path) + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the server's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise ConfigError(
                f"another qpi server is using {path} (lock {lock_path}); stop it or use another --data-dir"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    async def serve(self) -> None:
        """Run uvicorn in this event loop until SIGTERM/SIGINT (graceful, ``--shutdown-timeout``)."""
        import uvicorn

        assert self.app is not None
        config = uvicorn.Config(
            self.app,
            host=self.config.host,
            port=self.config.server_port,
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(self.config.shutdown_timeout),
            server_header=False,
        )
        self.uvicorn = _QuietSignalsServer(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal)
        try:
            await self.uvicorn.serve()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        """First signal: graceful stop within --shutdown-timeout; a second one: stop at once."""
        if self.uvicorn is None:
            return
        if self.uvicorn.should_exit:
            self.uvicorn.force_exit = True
        self.uvicorn.should_exit = True

    def request_stop(self) -> None:
        if self.uvicorn is not None:
            self.uvicorn.should_exit = True


class _QuietSignalsServer:
    """uvicorn's server, with signals handled by :class:`Server` (uvicorn would re-raise them on exit)."""

    def __new__(cls, config: Any) -> Any:
        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        return _Server(config)


def _import_circuit_parsers() -> None:
    """qiskit is imported and the OpenQASM 3 parser warmed up here, in the main thread (see qpi.qasm)."""
    import qpi.server.circuits  # noqa: F401
    from qpi.qasm import warm_up

    warm_up()
