"""A ``qpi serve`` process with its superuser token, and ``qpi driver start`` processes on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from e2e.support import BELL, Proc, base_env, free_port, free_range, qpi_command, wait_for

__all__ = ["Cluster"]


class Cluster:
    """A server process, its superuser token, and drivers started on demand."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.env = base_env(tmp)
        self.port = free_port()
        self.nng = free_range(4)
        self.data = tmp / "server-data"
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Proc | None = None
        self.token = ""
        self.drivers: list[Proc] = []

    def start_server(self) -> None:
        args = qpi_command(
            "serve",
            "--data-dir",
            str(self.data),
            "--server-port",
            str(self.port),
            "--host",
            "127.0.0.1",
            "--port-range-start",
            str(self.nng[0]),
            "--port-range-end",
            str(self.nng[1]),
            "--rate-limit",
            "0",
            "--submit-rate-limit",
            "0",
            "--heartbeat-interval",
            "1s",
            "--max-pending-jobs-per-user",
            "0",
        )
        self.server = Proc(args, cwd=self.tmp, env=self.env, log=self.tmp / "server.log").start()
        wait_for(self._healthy, 60, "the server to answer /api/health")

    def _healthy(self) -> bool:
        assert self.server is not None and self.server.popen is not None
        if self.server.popen.poll() is not None:
            raise AssertionError(f"qpi serve exited:\n{self.server.output()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def bootstrap(self) -> None:
        import subprocess

        subprocess.run(
            qpi_command(
                "admin",
                "create-superuser",
                "admin@example.org",
                "--password",
                "password123",
                "--data-dir",
                str(self.data),
            ),
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.start_server()
        s = httpx.post(
            f"{self.url}/api/auth/login",
            json={"email": "admin@example.org", "password": "password123", "mode": "token"},
        ).json()["session_token"]
        self.token = httpx.post(
            f"{self.url}/api/tokens", json={"name": "e2e"}, headers={"Authorization": f"Bearer {s}"}
        ).json()["token"]

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Token": self.token}, timeout=30)

    def qpu(self, name: str, kind: str) -> dict[str, Any]:
        with self.http() as c:
            r = c.post("/api/op/qpus/create", json={"name": name, "executor_type": kind})
            assert r.status_code == 201, r.text
            return dict(r.json())

    def start_driver(
        self,
        qpu: dict[str, Any],
        kind: str,
        *extra: str,
        fingerprint: str | None = None,
        workers: int = 1,
        name: str = "drv",
    ) -> Proc:
        data = self.tmp / f"driver-{qpu['name']}"
        args = qpi_command(
            "driver",
            "start",
            "--qpi-addr",
            self.url,
            "--token",
            qpu["access_token"],
            "--ca-fingerprint",
            fingerprint or qpu["ca_fingerprint"],
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
            "--reconnect-max",
            "2s",
            "--name",
            name,
            *extra,
        )
        proc = Proc(args, cwd=self.tmp, env=self.env, log=self.tmp / f"driver-{qpu['name']}.log").start()
        self.drivers.append(proc)
        return proc

    def wait_online(self, qpu: str, timeout: float = 60) -> None:
        def online() -> bool:
            with self.http() as c:
                return bool(c.get(f"/api/qpus/{qpu}").json()["status"] == "online")

        wait_for(online, timeout, f"QPU {qpu} online")

    def submit(self, qpu: str, circuit: str = BELL, shots: int = 1000, **extra: Any) -> str:
        with self.http() as c:
            r = c.post(
                "/api/jobs", json={"qpu_target": qpu, "shots": shots, "circuits": [{"circuit": circuit}], **extra}
            )
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

    def jobs(self, ids: list[str]) -> list[dict[str, Any]]:
        with self.http() as c:
            return [c.get(f"/api/jobs/{i}").json() for i in ids]

    def wait_all(self, ids: list[str], timeout: float = 120) -> list[dict[str, Any]]:
        def done() -> list[dict[str, Any]] | None:
            jobs = self.jobs(ids)
            return jobs if all(j["state"] in ("completed", "failed", "cancelled") for j in jobs) else None

        return list(wait_for(done, timeout, f"{len(ids)} jobs to finish", interval=0.2))

    def usage(self) -> list[dict[str, Any]]:
        with self.http() as c:
            return list(c.get("/api/ledger", params={"kind": "usage", "per_page": 500}).json())

    def stop(self) -> None:
        for proc in self.drivers:
            proc.stop()
        if self.server is not None:
            self.server.stop()
