"""End-to-end figures of the driver link (``../shared/BENCHMARKS.md``).

    python benchmarks/e2e.py [--jobs 500] [--burst 1000] [--noop 10000] [--skip-noop]

Prints overhead_p50_ms / overhead_p99_ms (500 sequential 1000-shot Bell jobs, qiskit_aer, 1 worker,
SQLite, after 5 warm-up jobs), e2e_per_s (1000 jobs submitted at once to 1 worker, from the first
job's ``created`` to the last ``finished_at``), raw_per_s (the
same executor in one process, 1000 times), throughput_ratio, and noop_per_s (a pre-loaded queue of
10,000 jobs drained by a no-op executor with 2 workers). Server-side instants are read from the
server's own SQLite file (microseconds; the API serves milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from pathlib import Path

import httpx
from harness import BELL, percentile, report, server, settings_line

REPO = Path(__file__).resolve().parent.parent


def job_rows(data: Path, ids: list[str]) -> list[dict[str, int]]:
    conn = sqlite3.connect(data / "qpi.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        marks = ",".join("?" for _ in ids)
        rows = conn.execute(
            f"SELECT id, created, dispatched_at, finished_at, duration_ms, state FROM quantum_jobs "
            f"WHERE id IN ({marks})",
            ids,
        ).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def wait_done(c: httpx.Client, job_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.get(f"/api/jobs/{job_id}").json()["state"] in ("completed", "failed", "cancelled"):
            return
        time.sleep(0.002)
    raise RuntimeError(f"job {job_id} did not finish")


def sequential(srv, n: int, warmup: int = 5) -> tuple[list[float], list[str]]:
    body = {"qpu_target": "aer", "shots": 1000, "circuits": [{"circuit": BELL}]}
    ids: list[str] = []
    with srv.http() as c:
        for i in range(warmup + n):
            job_id = c.post("/api/jobs", json=body).json()["id"]
            wait_done(c, job_id)
            if i >= warmup:
                ids.append(job_id)
    rows = job_rows(srv.data, ids)
    overhead = [
        ((r["finished_at"] - r["created"]) / 1000) - (r["duration_ms"] or 0) for r in rows if r["state"] == "completed"
    ]
    return overhead, ids


async def burst(url: str, token: str, qpu: str, n: int) -> list[str]:
    body = {"qpu_target": qpu, "shots": 1000, "circuits": [{"circuit": BELL}]}
    ids: list[str] = []
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Token": token}, timeout=60) as c:
            while remaining > 0:
                remaining -= 1
                r = await c.post("/api/jobs", json=body)
                r.raise_for_status()
                ids.append(r.json()["id"])

    await asyncio.gather(*(worker() for _ in range(8)))
    return ids


def wait_all(srv, n_expected: int, qpu: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    with srv.http() as c:
        while time.monotonic() < deadline:
            r = c.get("/api/jobs", params={"qpu": qpu, "state": "pending,dispatched,running", "per_page": 1})
            if int(r.headers["x-total-count"]) == 0:
                return
            time.sleep(0.05)
    raise RuntimeError("jobs did not drain")


def raw_per_s(n: int) -> float:
    from qpi.driver.executors.aer import AerExecutor
    from qpi.protocol.payload import CircuitPayload, JobPayload

    executor = AerExecutor(name="raw", data_dir=Path("/tmp"), max_parallel_threads=1)
    payload = JobPayload(id="raw", circuits=[CircuitPayload(circuit=BELL, name="bell")], shots=1000)
    executor.process_result(executor.execute(payload), "raw")  # warm-up
    t0 = time.perf_counter()
    for _ in range(n):
        executor.process_result(executor.execute(payload), "raw")
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--noop", type=int, default=10000)
    parser.add_argument("--skip-noop", action="store_true")
    args = parser.parse_args()
    print("note: the server, the driver, its workers and this client share the machine's cores")
    with server() as srv:
        qpu = srv.qpu("aer", "qiskit_aer")
        srv.driver(qpu, "qiskit_aer", "--option", "max_parallel_threads=1")
        srv.wait_online("aer")
        overhead, _ = sequential(srv, args.jobs)
        print(settings_line(figure="overhead", database="sqlite", executor="qiskit_aer", workers=1, n=len(overhead)))
        report("overhead_p50_ms", percentile(overhead, 0.5), "ms")
        report("overhead_p99_ms", percentile(overhead, 0.99), "ms")
        ids = asyncio.run(burst(srv.url, srv.token, "aer", args.burst))
        wait_all(srv, args.burst, "aer")
        # first submit to last completion, both as the server recorded them (the wait above polls)
        rows = job_rows(srv.data, ids)
        done = sum(1 for r in rows if r["state"] == "completed")
        e2e = done / ((max(r["finished_at"] for r in rows) - min(r["created"] for r in rows)) / 1e6)
    raw = raw_per_s(1000)
    print(settings_line(figure="throughput", database="sqlite", executor="qiskit_aer", workers=1, n=args.burst))
    report("e2e_per_s", e2e, "jobs/s")
    report("raw_per_s", raw, "jobs/s")
    report("throughput_ratio", e2e / raw)
    if args.skip_noop:
        return
    with server() as srv:
        qpu = srv.qpu("noop", "custom")
        with srv.http() as c:
            c.patch("/api/qpus/noop", json={"max_concurrent": 1000}).raise_for_status()
        asyncio.run(burst(srv.url, srv.token, "noop", args.noop))  # the queue is pre-loaded: no driver yet
        srv.driver(qpu, "benchmarks.noop_executor:NoopExecutor", workers=2)
        wait_all(srv, args.noop, "noop", timeout=900)
        conn = sqlite3.connect(srv.data / "qpi.sqlite3")
        first, last, done = conn.execute(
            "SELECT MIN(dispatched_at), MAX(finished_at), COUNT(*) FROM quantum_jobs WHERE state = 'completed'"
        ).fetchone()
        conn.close()
    print(settings_line(figure="noop", database="sqlite", executor="noop", workers=2, n=done))
    report("noop_per_s", done / ((last - first) / 1e6), "jobs/s")


if __name__ == "__main__":
    import os
    import sys

    os.chdir(REPO)  # the no-op executor is imported by the workers as benchmarks.noop_executor
    sys.path.insert(0, str(REPO))
    main()
