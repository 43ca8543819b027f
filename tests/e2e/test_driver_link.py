"""``qpi serve`` and ``qpi driver start`` as separate processes: counts, crashes, restarts, trust."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.cluster import Cluster
from e2e.support import BELL, wait_for

TWO_REGISTERS = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3]; creg a[1]; creg b[2];
x q[0]; x q[2];
measure q[0] -> a[0]; measure q[1] -> b[0]; measure q[2] -> b[1];
"""


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
