"""Steps 1–6 of the connect sequence (``driver-protocol.md`` §2): CA pin FIRST, then the token.

The token leaves this process only after the server's CA certificate matched the configured
fingerprint (P-2.1, P-7.1). Failures are classified for the daemon: retry with backoff, or stop
with the exit code of the one ``qpi`` table (2 configuration, 3 authentication or trust).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec

from qpi import __version__
from qpi.errors import ConfigError, QPIError
from qpi.protocol.certs import build_csr, ca_fingerprint, fingerprints_match, load_or_create_key
from qpi.protocol.payload import DeviceInfo

__all__ = ["ConnectReply", "FatalConnectError", "RetryableConnectError", "check_addr", "handshake"]

logger = logging.getLogger(__name__)


class FatalConnectError(QPIError):
    """The driver must stop; ``exit_code`` 2 (configuration) or 3 (authentication or trust)."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message, code="connect_refused")
        self.exit_code = exit_code


class RetryableConnectError(QPIError):
    """Retry after ``retry_after`` seconds (None: the daemon's backoff)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, code="connect_retry")
        self.retry_after = retry_after


class ConnectReply(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    driver_id: str
    qpu_id: str
    qpu_name: str
    session: int
    nng_host: str
    nng_port: int
    server_name: str
    client_cert: str
    heartbeat_interval_s: float = 5.0
    heartbeat_misses: int = 3
    hello_timeout_s: float = 10.0
    accept_timeout_s: float = 10.0
    job_timeout_grace_s: float = 30.0
    max_message_bytes: int = 64 * 1024 * 1024
    event_rate_limit: float = 100.0
    max_attempts: int = 3
    on_driver_loss: str = "fail"
    max_held_per_worker: int = 1
    tls_hash: str = ""


@dataclass(frozen=True)
class Material:
    ca_pem: str
    key_pem: str
    reply: ConnectReply


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_addr(addr: str, *, allow_insecure_http: bool) -> None:
    """Step 1: plain http:// only to a loopback host unless explicitly allowed (exit 2)."""
    parts = urlsplit(addr)
    if parts.scheme == "http" and not _loopback(parts.hostname or "") and not allow_insecure_http:
        raise ConfigError(
            f"refusing to send the driver token over plain http to {parts.hostname}; use https:// "
            "(or --allow-insecure-http on a trusted network)"
        )


def _write_ca(path: Path, pem: str) -> None:
    """Step 4: atomic replace, mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ca-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    return float(value) if value and value.isdigit() else None


async def handshake(
    *,
    addr: str,
    token: str,
    fingerprint: str,
    ca_file: Path,
    key_file: Path,
    instance_id: str,
    executor: str,
    workers: int,
    name: str,
    device: DeviceInfo | None,
    timeout: float = 10.0,  # noqa: ASYNC109 - httpx's per-request timeout, not a deadline for the caller
) -> Material:
    """Steps 2–6: fetch and pin the CA, key + CSR, ``POST /api/op/drivers/connect``."""
    try:
        async with httpx.AsyncClient(base_url=addr, timeout=timeout, verify=False) as client:  # noqa: S501 - pinned below
            response = await client.get("/api/pub/root-ca.pem")
    except httpx.HTTPError as exc:
        raise RetryableConnectError(f"cannot reach {addr}: {exc}") from exc
    if response.status_code != 200:
        raise RetryableConnectError(f"{addr}/api/pub/root-ca.pem answered {response.status_code}")
    ca_pem = response.text
    try:
        got = ca_fingerprint(ca_pem)
    except QPIError as exc:
        raise FatalConnectError(f"the server's CA certificate is unreadable: {exc}", exit_code=3) from exc
    if not fingerprints_match(got, fingerprint):
        logger.error(
            "CA fingerprint mismatch: expected %s, the server's CA has %s; the token was NOT sent", fingerprint, got
        )
        raise FatalConnectError(
            f"CA fingerprint mismatch: expected {fingerprint}, the server's CA has {got}; the token was not sent",
            exit_code=3,
        )
    _write_ca(ca_file, ca_pem)
    key = load_or_create_key(key_file)
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    body: dict[str, Any] = {
        "token": token,
        "csr": build_csr(key, "qpi-driver"),
        "instance_id": instance_id,
        "protocol": 1,
        "executor": executor if ":" not in executor else f"custom:{executor}",
        "workers": workers,
        "name": name,
        "host": platform.node()[:255],
        "version": __version__,
        "device": msgspec.to_builtins(device) if device is not None else None,
    }
    verify: Any = True
    if addr.startswith("https"):
        import ssl

        context = ssl.create_default_context()
        context.load_verify_locations(cadata=ca_pem)
        verify = context
    try:
        async with httpx.AsyncClient(base_url=addr, timeout=timeout, verify=verify) as client:
            response = await client.post("/api/op/drivers/connect", json=body)
    except httpx.HTTPError as exc:
        raise RetryableConnectError(f"connect to {addr} failed: {exc}") from exc
    status, code = response.status_code, _error_code(response)
    if status == 200:
        return Material(ca_pem=ca_pem, key_pem=key_pem, reply=msgspec.json.decode(response.content, type=ConnectReply))
    detail = response.text[:500]
    if status == 401:
        raise FatalConnectError(f"the server rejected the driver token ({detail})", exit_code=3)
    if status == 400 or code == "kind_mismatch":
        raise FatalConnectError(f"the server refused the connect request: {detail}", exit_code=2)
    raise RetryableConnectError(f"connect answered {status} {code}: {detail}", retry_after=_retry_after(response))
