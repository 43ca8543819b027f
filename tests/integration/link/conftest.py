"""Real TLS material and free ports for the NNG link tests.

The server side comes from ``qpi.server.tls`` in ``tmp_path``; the driver's key and CSR from
``qpi.protocol.certs``; a foreign CA from ``trustme`` (an independent implementation).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from qpi.protocol.certs import build_csr, load_or_create_key
from qpi.protocol.transport import LinkDialer, LinkEvent, LinkListener
from qpi.server.tls import TlsMaterial, TlsPaths, ensure_tls, sign_client_csr

#: Every wait in these tests is bounded by this (seconds); nothing relies on tight timing.
WAIT = 10.0
LIMIT = 64 * 1024
CURRENT_CN = "drv_test/2"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_material(directory: Path, sans: list[str] | None = None) -> TlsMaterial:
    paths = TlsPaths(directory / "ca.pem", directory / "ca.key", directory / "cert.pem", directory / "key.pem")
    return ensure_tls(paths, sans=sans or ["127.0.0.1"], now=datetime.now(UTC))


@dataclass(frozen=True)
class ClientCert:
    cert_pem: str
    key_pem: str


@pytest.fixture
def material(tmp_path: Path) -> TlsMaterial:
    return make_material(tmp_path / "server")


@pytest.fixture
def issue(material: TlsMaterial, tmp_path: Path) -> Callable[[str], ClientCert]:
    """A client certificate for a CN, signed by the server CA from the driver's CSR."""
    key = load_or_create_key(tmp_path / "driver" / "driver.key")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()

    def _issue(cn: str) -> ClientCert:
        cert_pem, _, _ = sign_client_csr(material, build_csr(key, "driver"), cn=cn, ttl_s=3600, now=datetime.now(UTC))
        return ClientCert(cert_pem, key_pem)

    return _issue


@pytest.fixture
def foreign_cert() -> ClientCert:
    """A client certificate with the right CN from a CA the server does not trust."""
    leaf = trustme.CA().issue_cert("driver.example", common_name=CURRENT_CN)
    return ClientCert(leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes().decode())


class Recorder:
    """Collects link events (called on the event loop) and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[LinkEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: LinkEvent) -> None:
        self.events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    async def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Wait until ``condition()`` holds after some event, at most ``WAIT`` seconds."""
        try:
            async with asyncio.timeout(WAIT):
                while not condition():
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; events: {self.events}") from None

    async def wait_kind(self, kind: str, count: int = 1) -> LinkEvent:
        """The ``count``-th event of this kind, once it has arrived."""
        await self.wait_for(lambda: self.kinds().count(kind) >= count, f"{count} {kind!r} event(s)")
        return [e for e in self.events if e.kind == kind][count - 1]


def listener(
    material: TlsMaterial,
    *,
    port: int = 0,
    accept: Callable[[str], bool] | None = None,
    recorder: Recorder | None = None,
    cert_pem: str | None = None,
    key_pem: str | None = None,
) -> LinkListener:
    return LinkListener(
        "127.0.0.1",
        port,
        cert_pem=cert_pem or material.cert_pem,
        key_pem=key_pem or material.key_pem,
        ca_pem=material.ca_cert_pem,
        recv_max_size=LIMIT,
        accept_cn=accept or (lambda cn: cn == CURRENT_CN),
        on_event=recorder,
        name="test-listener",
    )


def dialer(
    material: TlsMaterial,
    port: int,
    client: ClientCert | None,
    *,
    server_name: str = "127.0.0.1",
    recorder: Recorder | None = None,
    reconnect_min_s: float = 1.0,
) -> LinkDialer:
    return LinkDialer(
        "127.0.0.1",
        port,
        ca_pem=material.ca_cert_pem,
        server_name=server_name,
        cert_pem=client.cert_pem if client else None,
        key_pem=client.key_pem if client else None,
        recv_max_size=LIMIT,
        dial_timeout=WAIT,
        reconnect_min_s=reconnect_min_s,
        reconnect_max_s=max(reconnect_min_s, 1.0),
        on_event=recorder,
        name="test-dialer",
    )
