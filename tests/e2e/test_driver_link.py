"""``qpi serve`` and ``qpi driver start`` as separate processes: counts, crashes, restarts, trust."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from e2e.support import BELL, Proc, base_env, free_port, free_range, qpi_command, wait_for

TWO_REGISTERS = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3]; creg a[1]; creg b[2];
x q[0]; x q[2];
measure q[0] -> a[0]; measure q[1] -> b[0]; measure q[2] -> b[1];
"""


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
        self, qpu: dict[str, Any], kind: str, *, fingerprint: str | None = None, workers: int = 1, name: str = "drv"
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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    c.bootstrap()
    try:
        yield c
    finally:
        c.stop()


def test_bell_and_two_register_counts(cluster: Cluster) -> None:
    from qiskit.result import Result

    qpu = cluster.qpu("aer1", "qiskit_aer")
    cluster.start_driver(qpu, "qiskit_aer")
    cluster.wait_online("aer1")
    bell = cluster.submit("aer1", BELL, shots=1000)
    regs = cluster.submit("aer1", TWO_REGISTERS, shots=100, memory=True)
    bell_job, regs_job = cluster.wait_all([bell, regs])
    counts = bell_job["results"]["results"][0]["data"]["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 1000 and min(counts.values()) > 350
    assert regs_job["results"]["results"][0]["data"]["counts"] == {"101": 100}
    result = Result.from_dict(regs_job["results"])
    assert result.get_counts(0) == {"10 1": 100}
    assert result.get_memory(0) == ["10 1"] * 100


def test_driver_killed_mid_run_every_job_completes_once(cluster: Cluster) -> None:
    qpu = cluster.qpu("sim1", "mock")
    driver = cluster.start_driver(qpu, "mock")
    cluster.wait_online("sim1")
    ids = [cluster.submit("sim1", shots=20000) for _ in range(30)]
    wait_for(lambda: sum(j["state"] == "completed" for j in cluster.jobs(ids)) >= 3, 60, "some jobs done")
    driver.signal(signal.SIGKILL)  # the driver and its workers, mid-run
    driver.wait(10)
    cluster.start_driver(qpu, "mock")  # a new instance takes over
    jobs = cluster.wait_all(ids)
    assert [j["state"] for j in jobs] == ["completed"] * len(ids)
    usage = cluster.usage()
    per_job: dict[str, int] = {}
    for entry in usage:
        per_job[entry["job"]] = per_job.get(entry["job"], 0) + 1
    assert all(per_job.get(i) == 1 for i in ids), per_job  # exactly one recorded, charged result per job


def test_server_killed_with_jobs_pending_driver_reattaches(cluster: Cluster) -> None:
    qpu = cluster.qpu("sim2", "mock")
    cluster.start_driver(qpu, "mock")
    cluster.wait_online("sim2")
    assert cluster.server is not None
    ids = [cluster.submit("sim2", shots=20000) for _ in range(10)]
    cluster.server.signal(signal.SIGKILL)  # some jobs pending, some in flight on the driver
    cluster.server.wait(10)
    cluster.start_server()  # same data dir: the queue survives; the driver finds the server by itself
    jobs = cluster.wait_all(ids, timeout=90)
    assert [j["state"] for j in jobs] == ["completed"] * 10
    per_job: dict[str, int] = {}
    for entry in cluster.usage():
        per_job[entry["job"]] = per_job.get(entry["job"], 0) + 1
    assert all(per_job.get(i) == 1 for i in ids), per_job


def test_wrong_ca_fingerprint_stops_the_driver_before_it_sends_anything(cluster: Cluster) -> None:
    qpu = cluster.qpu("sim3", "mock")
    driver = cluster.start_driver(qpu, "mock", fingerprint="ab" * 32)
    assert driver.wait(60) == 3
    assert "fingerprint mismatch" in driver.output()
    with cluster.http() as c:
        record = c.get(f"/api/drivers/{qpu['driver_id']}").json()
    assert record["connected_at"] is None and record["status"] == "offline"  # the token never arrived


def test_an_idle_link_stays_up(cluster: Cluster) -> None:
    """Neither side may take an idle link for dead: both heartbeat every interval (1 s here, 3 misses)."""
    qpu = cluster.qpu("idle1", "mock")
    driver = cluster.start_driver(qpu, "mock")
    cluster.wait_online("idle1")
    time.sleep(6)  # two full miss windows with no job traffic
    log = driver.output()
    assert "link lost" not in log and "session 2" not in log, log[-3000:]
    job = cluster.submit("idle1")
    assert cluster.wait_all([job])[0]["state"] == "completed"
