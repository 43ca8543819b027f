"""Shared pieces of the benchmark scripts: start real ``qpi`` processes, users, tokens, figures.

Every benchmark runs the server (and drivers) as separate processes on loopback, as a user runs
them, with rate limits and the pending-job cap off (``../shared/BENCHMARKS.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'
PG_ADMIN = os.environ.get("QPI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def settings_line(**extra: Any) -> str:
    base = {"python": platform.python_version(), "commit": commit(), "cores": os.cpu_count(), **extra}
    return "settings: " + ", ".join(f"{k}={v}" for k, v in base.items())


def report(name: str, value: float, unit: str = "") -> None:
    print(f"{name} = {value:.3f}{(' ' + unit) if unit else ''}", flush=True)


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    import asyncpg

    name = f"qpi_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def qpi(*args: str) -> list[str]:
    return [sys.executable, "-m", "qpi", *args]


@dataclass
class Server:
    url: str
    data: Path
    proc: subprocess.Popen[bytes]
    token: str = ""
    env: dict[str, str] = field(default_factory=dict)
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def http(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Token": self.token}, timeout=60, **kw)

    def qpu(self, name: str, kind: str = "mock", **fields: Any) -> dict[str, Any]:
        """Register a QPU; with a driver of ``kind`` (``custom`` drivers declare the events they handle)."""
        with self.http() as c:
            if kind != "custom":
                r = c.post("/api/op/qpus/create", json={"name": name, "executor_type": kind, **fields})
                r.raise_for_status()
                return dict(r.json())
            r = c.post("/api/op/qpus/create", json={"name": name, "with_driver": False, **fields})
            r.raise_for_status()
            d = c.post(
                "/api/op/drivers/create",
                json={"name": f"{name}-driver", "qpu": name, "kind": "custom", "events": ["JobDispatch", "JobResult"]},
            )
            d.raise_for_status()
            out = dict(r.json())
            out.update(access_token=d.json()["token"], ca_fingerprint=d.json()["ca_fingerprint"])
            return out

    def driver(self, qpu: dict[str, Any], kind: str, *args: str, workers: int = 1) -> subprocess.Popen[bytes]:
        data = self.data.parent / f"driver-{qpu['name']}"
        log = open(self.data.parent / f"driver-{qpu['name']}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            qpi(
                "driver",
                "start",
                "--qpi-addr",
                self.url,
                "--token",
                qpu["access_token"],
                "--ca-fingerprint",
                qpu["ca_fingerprint"],
                "--executor",
                kind,
                "--data-dir",
                str(data),
                "--ca-file",
                str(data / "ca.pem"),
                "--workers",
                str(workers),
                "--reconnect-min",
                "0.2s",
                "--log-level",
                "warning",
                *args,
            ),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.children.append(proc)
        return proc

    def wait_online(self, qpu: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with self.http() as c:
            while time.monotonic() < deadline:
                if c.get(f"/api/qpus/{qpu}").json()["status"] == "online":
                    return
                time.sleep(0.1)
        raise RuntimeError(f"QPU {qpu} did not come online")

    def stop(self) -> None:
        for p in [*self.children, self.proc]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in [*self.children, self.proc]:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


@contextlib.contextmanager
def server(*extra: str, database_url: str | None = None) -> Iterator[Server]:
    """``qpi serve`` with limits off, a superuser and an API token."""
    with tempfile.TemporaryDirectory(prefix="qpi-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("QPI_")}
        env["QPI_CONFIG_DIR"] = str(root / "client")
        db = ["--database-url", database_url] if database_url else []
        subprocess.run(
            qpi(
                "admin",
                "create-superuser",
                "bench@example.org",
                "--password",
                "benchpassword",
                "--data-dir",
                str(data),
                *db,
            ),
            env=env,
            check=True,
            capture_output=True,
        )
        port = free_port()
        nng = free_port()
        log = open(root / "server.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            qpi(
                "serve",
                "--data-dir",
                str(data),
                "--server-port",
                str(port),
                "--host",
                "127.0.0.1",
                "--port-range-start",
                str(nng),
                "--port-range-end",
                str(nng + 10),
                "--rate-limit",
                "0",
                "--submit-rate-limit",
                "0",
                "--max-pending-jobs-per-user",
                "0",
                "--log-level",
                "warning",
                *db,
                *extra,
            ),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        srv = Server(url=f"http://127.0.0.1:{port}", data=data, proc=proc, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{srv.url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((root / "server.log").read_text()[-3000:])
                time.sleep(0.05)
            session = httpx.post(
                f"{srv.url}/api/auth/login",
                json={"email": "bench@example.org", "password": "benchpassword", "mode": "token"},
            )
            session.raise_for_status()
            bearer = {"Authorization": f"Bearer {session.json()['session_token']}"}
            srv.token = httpx.post(f"{srv.url}/api/tokens", json={"name": "bench"}, headers=bearer).json()["token"]
            yield srv
        finally:
            srv.stop()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
