"""A real server (uvicorn in this event loop, NNG listeners, SQLite/PostgreSQL) and a hand-driven driver.

``ProtoDriver`` speaks the wire protocol itself over a real mutual-TLS NNG link (the driver's own
handshake and transport code, without a worker pool), so tests can send exactly the messages a
case needs: stale results, duplicates, silence.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from qpi.driver.handshake import Material, handshake
from qpi.protocol.messages import (
    Envelope,
    Heartbeat,
    HeartbeatBody,
    HeldJob,
    Hello,
    HelloBody,
    JobRef,
    Welcome,
    decode,
    encode,
)
from qpi.protocol.transport import LinkDialer
from support import add_api_token

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    server: Any
    admin_token: str
    tmp: Path

    @property
    def ctx(self) -> Any:
        return self.server.ctx

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"X-API-Token": token or self.admin_token}, timeout=30)

    async def qpu_with_driver(self, name: str, kind: str = "mock") -> dict[str, Any]:
        async with self.http() as c:
            r = await c.post("/api/op/qpus/create", json={"name": name, "num_qubits": 5, "executor_type": kind})
            assert r.status_code == 201, r.text
            return dict(r.json())

    async def submit(self, qpu: str, token: str | None = None, **extra: Any) -> dict[str, Any]:
        async with self.http(token) as c:
            r = await c.post("/api/jobs", json={"circuits": [{"circuit": BELL}], "qpu_target": qpu, **extra})
            assert r.status_code == 201, r.text
            return dict(r.json())

    async def job(self, job_id: str) -> dict[str, Any]:
        async with self.http() as c:
            return dict((await c.get(f"/api/jobs/{job_id}")).json())

    async def wait_state(
        self,
        job_id: str,
        states: set[str],
        timeout: float = 20,  # noqa: ASYNC109 - a bounded-wait helper: the default bound keeps a test from hanging
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                job = await self.job(job_id)
                if job["state"] in states:
                    return job
                await asyncio.sleep(0.05)


@dataclass
class ProtoDriver:
    served: Served
    token: str
    fingerprint: str
    tmp: Path
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    material: Material | None = None
    link: LinkDialer | None = None
    inbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    _pump: asyncio.Task[None] | None = None

    async def connect(
        self, *, workers_ready: int = 1, held: list[HeldJob] | None = None, outbox: list[JobRef] | None = None
    ) -> Welcome:
        self.material = await handshake(
            addr=self.served.url,
            token=self.token,
            fingerprint=self.fingerprint,
            ca_file=self.tmp / "ca.pem",
            key_file=self.tmp / "driver.key",
            instance_id=self.instance_id,
            executor="mock",
            workers=1,
            name="proto",
            device=None,
        )
        r = self.material.reply
        self.link = LinkDialer(
            r.nng_host,
            r.nng_port,
            ca_pem=self.material.ca_pem,
            server_name=r.server_name,
            cert_pem=r.client_cert,
            key_pem=self.material.key_pem,
            recv_max_size=64 << 20,
        )
        await self.link.__aenter__()
        self._pump = asyncio.create_task(self._receive())
        await self.send(
            Hello(
                payload=HelloBody(
                    session=r.session,
                    instance_id=self.instance_id,
                    workers_total=1,
                    workers_ready=workers_ready,
                    held=held or [],
                    outbox=outbox or [],
                )
            )
        )
        return await self.expect(Welcome)  # type: ignore[no-any-return]

    async def _receive(self) -> None:
        assert self.link is not None
        while True:
            try:
                data = await self.link.recv()
            except Exception:
                return
            await self.inbox.put(decode(data))

    async def send(self, message: Envelope) -> None:
        assert self.link is not None
        await self.link.send(encode(message))

    async def heartbeat(self, held: list[HeldJob], workers_ready: int = 1, seq: int = 1) -> None:
        await self.send(
            Heartbeat(payload=HeartbeatBody(seq=seq, workers_total=1, workers_ready=workers_ready, held=held))
        )

    async def expect(self, kind: type, timeout: float = 10) -> Any:  # noqa: ASYNC109 - bounded-wait helper
        async with asyncio.timeout(timeout):
            while True:
                message = await self.inbox.get()
                if isinstance(message, kind):
                    return message

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        if self.link is not None:
            await self.link.aclose()


@pytest.fixture
async def served(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> AsyncIterator[Served]:
    """``qpi serve`` in this event loop on free ports (HTTP and NNG), with a superuser token."""
    from conftest import serve_config  # the root conftest's loader helper
    from qpi.server.api.users import create_user
    from qpi.server.runtime import Server

    port = free_port()
    nng = free_port()
    marker = request.node.get_closest_marker("serve_options")
    extra = dict(marker.kwargs) if marker else {}
    config = serve_config(
        tmp_path / "data",
        database_url,
        server_port=str(port),
        port_range_start=str(nng),
        port_range_end=str(nng + 1),
        rate_limit="0",
        submit_rate_limit="0",
        heartbeat_interval="1s",
        host="127.0.0.1",
        **extra,
    )
    async with Server(config) as server:
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(20):
            while not (server.uvicorn is not None and server.uvicorn.started):  # noqa: ASYNC110 - uvicorn has only a flag
                await asyncio.sleep(0.02)
        user, _ = await create_user(
            server.ctx,
            email="admin@example.org",
            name="admin",
            password="password123",
            role="superuser",
            qpu_seconds=0,
            actor=None,
        )
        raw = await add_api_token(server.ctx, user.id, name="t")
        try:
            yield Served(url=f"http://127.0.0.1:{port}", server=server, admin_token=raw, tmp=tmp_path)
        finally:
            server.request_stop()
            await task


@pytest.fixture
async def proto(served: Served, tmp_path: Path) -> AsyncIterator[tuple[ProtoDriver, dict[str, Any]]]:
    qpu = await served.qpu_with_driver("sim")
    driver = ProtoDriver(served, qpu["access_token"], qpu["ca_fingerprint"], tmp_path)
    try:
        yield driver, qpu
    finally:
        await driver.close()
