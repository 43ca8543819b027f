"""Real processes: ``qpi serve`` (and ``qpi driver start``) started as a user would, on free ports.

``local_server`` runs ``qpi serve --local-qpu mock`` in a temporary directory with its own client
configuration directory (``QPI_CONFIG_DIR``), so the ``local`` profile it writes is the one the
CLI under test reads. Helpers wait on conditions with bounded timeouts, never on sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_range(size: int = 8) -> tuple[int, int]:
    """A block of free ports for the NNG listeners."""
    for _ in range(50):
        start = free_port()
        if start + size >= 65535:
            continue
        ok = True
        for p in range(start, start + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return start, start + size
    raise RuntimeError("no free port range")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def qpi_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qpi", *args]


@dataclass
class Proc:
    args: list[str]
    cwd: Path
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with open(self.log, "ab") as handle:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def signal(self, sig: int) -> None:
        """Send ``sig``; SIGKILL goes to the whole process group (workers included), like a crash."""
        assert self.popen is not None
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float = 30) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> int | None:
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen else None
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            return self.popen.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class LocalServer:
    url: str
    port: int
    data_dir: Path
    config_dir: Path
    env: dict[str, str]
    process: Proc
    token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"X-API-Token": token or self.token}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def run_cli(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            qpi_command(*args),
            cwd=self.data_dir.parent,
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def wait_job(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        with self.client() as c:
            return dict(wait_for(lambda: _final(c.get(f"/api/jobs/{job_id}").json()), timeout, f"job {job_id}"))


def _final(job: dict[str, Any]) -> dict[str, Any] | None:
    return job if job.get("state") in ("completed", "failed", "cancelled") else None


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QPI_")}
    env["QPI_CONFIG_DIR"] = str(tmp / "client-config")
    env["HOME"] = str(tmp / "home")
    env.pop("XDG_CONFIG_HOME", None)
    (tmp / "home").mkdir(exist_ok=True)
    return env


def start_local_server(tmp: Path, kind: str = "mock", *extra: str, env: dict[str, str] | None = None) -> LocalServer:
    port = free_port()
    start, end = free_range()
    data = tmp / "data"
    env = env or base_env(tmp)
    proc = Proc(
        qpi_command(
            "serve",
            "--local-qpu",
            kind,
            "--data-dir",
            str(data),
            "--server-port",
            str(port),
            "--port-range-start",
            str(start),
            "--port-range-end",
            str(end),
            "--rate-limit",
            "0",
            "--submit-rate-limit",
            "0",
            *extra,
        ),
        cwd=tmp,
        env=env,
        log=tmp / "server.log",
    ).start()
    server = LocalServer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        data_dir=data,
        config_dir=tmp / "client-config",
        env=env,
        process=proc,
    )

    def ready() -> bool:
        if proc.popen is not None and proc.popen.poll() is not None:
            raise AssertionError(f"qpi serve exited with {proc.popen.returncode}:\n{proc.output()[-3000:]}")
        try:
            qpus = httpx.get(f"{server.url}/api/qpus", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(qpus) and qpus[0]["status"] == "online"

    wait_for(ready, 90, "the local QPU to come online")
    config_file = server.config_dir / "config.toml"
    import tomllib

    server.token = tomllib.loads(config_file.read_text())["profiles"]["local"]["api_token"]
    return server


def dumps(value: Any) -> str:
    return json.dumps(value)
