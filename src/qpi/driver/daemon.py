"""``Driver``: the daemon of ``qpi driver start`` — pool, connect, link, heartbeats, outbox, SIGTERM.

One asyncio loop runs the link; executors run in the worker pool. The connect sequence
(``driver-protocol.md`` §2) reruns after every link loss, with doubling, fully jittered delays;
workers keep running meanwhile and their results wait in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qpi import __version__
from qpi.aio import wait_event
from qpi.driver.handshake import ConnectReply, FatalConnectError, RetryableConnectError, check_addr, handshake
from qpi.driver.linkstate import LinkSession
from qpi.driver.outbox import Outbox
from qpi.driver.pool import WorkerPool
from qpi.driver.pool_events import JobFinishedEvent, JobProgressEvent, JobStartedEvent, PoolChangedEvent
from qpi.errors import ConfigError, LinkError, QPIError
from qpi.protocol.messages import (
    JobError,
    JobProgress,
    JobProgressBody,
    JobResult,
    JobResultBody,
    JobStarted,
    JobStartedBody,
    encode,
)
from qpi.protocol.transport import LinkDialer

if TYPE_CHECKING:
    from qpi.config import DriverConfig

__all__ = ["Driver", "pool_options"]

logger = logging.getLogger(__name__)

HARDWARE = frozenset({"quantify", "qblox", "presto"})
_DEFAULT_CONFIG_NAMES = {
    "quantify_device_config": "quantify.device.yml",
    "quantify_hardware_config": "quantify.hardware.json",
}


def pool_options(config: DriverConfig) -> dict[str, Any]:
    """Executor options: ``-o`` values plus the dedicated flags of the hardware executors."""
    options: dict[str, Any] = dict(config.options)
    if config.executor in ("quantify", "qblox"):
        for key in ("quantify_device_config", "quantify_hardware_config"):
            path: Path = getattr(config, key)
            # The flag's default file name, absent: leave it to the executor, which uses the shipped
            # example configurations in dummy mode (and names the missing default file otherwise).
            if path.exists() or path != Path.cwd() / _DEFAULT_CONFIG_NAMES[key]:
                options.setdefault(key, str(path))
        options.setdefault("is_dummy", "true" if config.is_dummy else "false")
    return options


class Driver:
    def __init__(self, config: DriverConfig, *, parent_pid: int | None = None) -> None:
        self.config = config
        self.parent_pid = parent_pid
        self.instance_id = str(uuid.uuid4())
        self.outbox = Outbox(config.outbox_dir)
        self.pool: WorkerPool | None = None
        self.session: LinkSession | None = None
        self.stopping = asyncio.Event()
        self.exit_code = 0
        self.drained = False
        self._signals = 0
        self._main: asyncio.Task[Any] | None = None

    # --- entry point ----------------------------------------------------------------------

    async def run(self) -> int:
        config = self.config
        try:
            check_addr(config.qpi_addr, allow_insecure_http=config.allow_insecure_http)
            config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.pool = WorkerPool(
                executor=config.executor,
                options=pool_options(config),
                workers=config.workers,
                name=config.name,
                data_dir=config.data_dir,
                max_held_per_worker=1,
                launch_dir=Path.cwd(),
                # a package.module:Class executor may live beside where the driver was started
                python_path=[Path.cwd()] if ":" in config.executor else (),
            )
            await self.pool.start()
        except ConfigError as exc:
            logger.error("%s", exc)
            if self.pool is not None:
                await self.pool.close()
            return 2
        logger.info(
            "executor %s ready (%d worker(s)); connecting to %s", config.executor, config.workers, config.qpi_addr
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal)
        events = asyncio.create_task(self._pool_events(), name="qpi:pool-events")
        watchdog = asyncio.create_task(self._watch_parent(), name="qpi:parent-watch") if self.parent_pid else None
        self._main = asyncio.current_task()
        try:
            code = await self._connect_loop()
            if self.stopping.is_set() and not self.drained:
                # stopped while offline: running jobs may finish; their results wait in the outbox
                await self.pool.drain(config.shutdown_grace)
            return code
        except asyncio.CancelledError:
            return 1
        finally:
            if watchdog is not None:
                watchdog.cancel()
            await self.pool.close()
            events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await events

    async def _watch_parent(self) -> None:
        """Local mode: a driver whose server died (kill -9) stops instead of retrying forever."""
        while os.getppid() == self.parent_pid:  # noqa: ASYNC110 - no event tells us a parent died
            await asyncio.sleep(1.0)
        logger.warning("the local server (pid %s) is gone; stopping", self.parent_pid)
        self.stopping.set()

    def _on_signal(self) -> None:
        self._signals += 1
        if self._signals == 1:
            logger.info("stopping: draining (a second signal stops at once)")
            self.stopping.set()
        else:
            logger.warning("second signal: stopping now; spooled results stay in the outbox")
            if self.pool is not None:
                self.pool.kill_grace_s = 0.1
            if self._main is not None:
                self._main.cancel()

    # --- connect loop ----------------------------------------------------------------------

    def _delay(self, failures: int, hint: float | None) -> float:
        if hint is not None:
            return hint
        cap = min(self.config.reconnect_max, self.config.reconnect_min * 2**failures)
        return random.uniform(0, cap)

    async def _wait_or_stop(self, seconds: float) -> None:
        await wait_event(self.stopping, seconds)

    async def _connect_loop(self) -> int:
        config = self.config
        assert self.pool is not None
        failures = 0
        while not self.stopping.is_set():
            hint: float | None = None
            try:
                material = await handshake(
                    addr=config.qpi_addr,
                    token=config.token,
                    fingerprint=config.ca_fingerprint,
                    ca_file=config.ca_file,
                    key_file=config.key_file,
                    instance_id=self.instance_id,
                    executor=config.executor,
                    workers=config.workers,
                    name=config.name,
                    device=self.pool.device_info,
                )
            except FatalConnectError as exc:
                logger.error("%s", exc)
                self.exit_code = exc.exit_code
                return exc.exit_code
            except ConfigError as exc:
                logger.error("%s", exc)
                self.exit_code = 2
                return 2
            except RetryableConnectError as exc:
                logger.warning("connect failed: %s", exc)
                hint = exc.retry_after
            else:
                online = await self._run_session(material.reply, material.ca_pem, material.key_pem)
                if online:
                    failures = 0
                    if self.stopping.is_set():
                        break
            delay = self._delay(failures, hint)
            failures += 1
            if not self.stopping.is_set():
                logger.info("reconnecting in %.1f s", delay)
                await self._wait_or_stop(delay)
        return 0

    async def _run_session(self, reply: ConnectReply, ca_pem: str, key_pem: str) -> bool:
        """Dial, Hello/Welcome, then serve the link until it is lost or the driver stops."""
        assert self.pool is not None
        config = self.config
        held = 1 if config.executor in HARDWARE else max(1, reply.max_held_per_worker)
        self.pool.max_held_per_worker = held
        limit = min(reply.max_message_bytes, config.max_message_size)
        try:
            async with LinkDialer(
                reply.nng_host,
                reply.nng_port,
                ca_pem=ca_pem,
                server_name=reply.server_name,
                cert_pem=reply.client_cert,
                key_pem=key_pem,
                recv_max_size=config.max_message_size,
                name=f"driver {reply.driver_id}",
            ) as dialer:
                dialer.send_limit = limit
                session = LinkSession(self, dialer, reply, limit)
                self.session = session
                try:
                    return await session.serve()
                finally:
                    self.session = None
        except LinkError as exc:
            logger.warning("link to %s:%d failed: %s", reply.nng_host, reply.nng_port, exc)
            return False

    # --- pool events → link messages -------------------------------------------------------------

    async def _pool_events(self) -> None:
        assert self.pool is not None
        async for event in self.pool.events():
            try:
                await self._on_pool_event(event)
            except QPIError:
                logger.exception("could not handle a pool event")

    async def _on_pool_event(self, event: Any) -> None:
        session = self.session
        driver_id = session.reply.driver_id if session else ""
        if isinstance(event, JobFinishedEvent):
            data = self._result_bytes(event.body, driver_id, session.limit if session else None)
            self.outbox.put(event.body.job_id, event.body.attempt, data)
            logger.info("job_id=%s attempt=%d finished: %s", event.body.job_id, event.body.attempt, event.body.status)
            if session is not None:
                await session.send_raw(data)
        elif isinstance(event, JobStartedEvent) and session is not None:
            body = JobStartedBody(
                job_id=event.job_id, attempt=event.attempt, worker=event.worker, started_at=event.started_at
            )
            await session.send(JobStarted(driver=driver_id, payload=body))
        elif isinstance(event, JobProgressEvent) and session is not None:
            await session.send(
                JobProgress(
                    driver=driver_id,
                    payload=JobProgressBody(
                        job_id=event.job_id, attempt=event.attempt, stage=event.stage, fraction=event.fraction
                    ),
                )
            )
        elif isinstance(event, PoolChangedEvent) and session is not None:
            await session.heartbeat()
            if event.device_info_changed:
                await session.send_device_info()

    @staticmethod
    def _result_bytes(body: JobResultBody, driver_id: str, limit: int | None) -> bytes:
        data = encode(JobResult(driver=driver_id, payload=body))
        if limit and len(data) > limit:
            message = f"the result is {len(data)} bytes, over the link limit of {limit} bytes"
            logger.error("job_id=%s attempt=%d %s", body.job_id, body.attempt, message)
            failed = JobResultBody(
                job_id=body.job_id,
                attempt=body.attempt,
                status="failed",
                timings=body.timings,
                error=JobError(code="result_too_large", message=message),
            )
            data = encode(JobResult(driver=driver_id, payload=failed))
        return data

    @property
    def versions(self) -> dict[str, str]:
        import platform

        out = {"qpi": __version__, "python": platform.python_version()}
        if self.pool is not None:
            out.update(self.pool.versions)
        return out
