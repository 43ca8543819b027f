"""Dispatcher figures with a small and a huge backlog (``../shared/BENCHMARKS.md``).

    python benchmarks/dispatch.py [--db sqlite|postgres|both] [--backlogs 100,100000] [--n 200] [--no-analyze]

``dispatch_decision_ms``: one claim — snapshot, ``plan_dispatch`` and the claim transaction — timed
in this process on the real store, for a QPU whose only driver is attached and idle.
``submit_to_dispatch_p95_ms``: server ``created → dispatched_at`` of jobs submitted one at a time to
an idle online driver (a real ``qpi serve`` and ``qpi driver start`` with the no-op executor).
Each with 100 and with 100,000 other pending jobs spread over 10 QPUs; the backlog belongs to a
user with no balance, so it waits without blocking anyone.
Also ``ready_s`` (start of ``qpi serve`` on the existing database to the first 200 from
``/api/ready``) and ``rss_mb`` (the server's resident memory with that backlog queued, after the
measurement), read from ``/proc``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from harness import BELL, free_port, percentile, pg_database, qpi, report, settings_line

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from qpi.server.scheduling import DriverState, SchedulerSettings  # noqa: E402
from qpi.server.store import NewJob, Store, TableNames  # noqa: E402
from qpi.server.store.common import json_dumps, new_id  # noqa: E402

SETTINGS = SchedulerSettings.from_seconds()


def now_us() -> int:
    return time.time_ns() // 1000


async def prepare(url: str, backlog: int, *, analyze: bool = True) -> None:
    """Users, 10 QPUs, and ``backlog`` unpayable pending jobs spread over them (QPU q0 is measured)."""
    async with Store.open(url, TableNames()) as store:
        t = now_us()
        poor = await store.users.create(
            email="poor@example.org", name="poor", password_hash=None, role="user", balance_ms=0, now=t, actor=None
        )
        await store.users.create(
            email="rich@example.org", name="rich", password_hash=None, role="user", balance_ms=10**12, now=t, actor=None
        )
        qpus = []
        for i in range(10):
            qpus.append(
                await store.qpus.create(
                    {
                        "name": f"q{i}",
                        "description": "",
                        "num_qubits": 5,
                        "enabled": True,
                        "max_shots": 100000,
                        "max_circuits": 300,
                        "on_driver_loss": "auto",
                        "bookable": True,
                        "max_concurrent": None,
                    },
                    now=t,
                )
            )
        payload = json_dumps({"circuits": [{"circuit": BELL, "name": "bell", "shots": 1000}], "shots": 1000})
        for start in range(0, backlog, 1000):
            async with store.db.transaction():
                for k in range(start, min(backlog, start + 1000)):
                    q = qpus[k % 10]
                    job_id = new_id()
                    await store.jobs.insert(
                        NewJob(
                            id=job_id,
                            owner=poor.id,
                            qpu_id=q.id,
                            qpu_name=q.name,
                            qpu_auto=False,
                            name=None,
                            payload_json=payload,
                            shots=1000,
                            num_circuits=1,
                            meas_level=2,
                            max_attempts=3,
                        ),
                        now=now_us(),
                        max_pending=None,
                    )
        if analyze and not url.startswith("sqlite"):
            # What autovacuum does on its own a little after a bulk load (the steady state): without
            # ANALYZE the planner still believes the jobs table is empty, and an autovacuum of the
            # fresh rows would otherwise run in the middle of the measurement.
            await store.db.execute("VACUUM ANALYZE")


async def decision_times(url: str, n: int) -> list[float]:
    """Time one claim of a fresh payable job on q0 with an attached, idle driver (in this process)."""
    async with Store.open(url, TableNames()) as store:
        t = now_us()
        q0 = await store.qpus.get("q0")
        rich = await store.users.get_by_email("rich@example.org")
        assert q0 is not None and rich is not None
        driver = await store.drivers.create(
            name="bench",
            qpu_id=q0.id,
            kind="mock",
            role="process",
            language="python",
            events="[]",
            token_hash=new_id(),
            token_prefix="x",
            enabled=True,
            now=t,
        )

        def overlay(snap):  # type: ignore[no-untyped-def]
            import msgspec

            drivers = tuple(
                DriverState(
                    id=d.id,
                    role="process",
                    enabled=True,
                    link_state="online",
                    attached=True,
                    last_seen=datetime.now(UTC),
                    workers_ready=1,
                    open_leases=d.open_leases,
                )
                for d in snap.drivers
            )
            return msgspec.structs.replace(snap, drivers=drivers)

        times = []
        payload = json_dumps({"circuits": [{"circuit": BELL}], "shots": 1000})
        for _ in range(n + 10):
            job_id = new_id()
            await store.jobs.insert(
                NewJob(
                    id=job_id,
                    owner=rich.id,
                    qpu_id=q0.id,
                    qpu_name="q0",
                    qpu_auto=False,
                    name=None,
                    payload_json=payload,
                    shots=1000,
                    num_circuits=1,
                    meas_level=2,
                    max_attempts=3,
                ),
                now=now_us(),
                max_pending=None,
            )
            t0 = time.perf_counter()
            _plan, claims, _ = await store.transitions.claim(
                q0.id, now=datetime.now(UTC), settings=SETTINGS, overlay=overlay, sessions=lambda _d: 1
            )
            times.append((time.perf_counter() - t0) * 1000)
            assert [c.job_id for c in claims] == [job_id]
            async with store.db.transaction():  # close the lease so the driver is idle again
                await store.db.execute(
                    "UPDATE quantum_jobs SET state = 'completed', lease_open = FALSE WHERE id = {}", job_id
                )
        await store.drivers.delete(driver.id)
        return times[10:]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def submit_to_dispatch(url: str, data: Path, n: int) -> tuple[list[float], float, float]:
    """created → dispatched_at of ``n`` jobs (ms), the server's ready time (s) and its RSS (MiB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QPI_")}
    env["QPI_CONFIG_DIR"] = str(data.parent / "client")
    db = ["--database-url", url]
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
    port, nng = free_port(), free_port()
    log = open(data.parent / "server.log", "ab")  # noqa: SIM115
    started = time.perf_counter()
    server = subprocess.Popen(
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
            str(nng + 4),
            "--rate-limit",
            "0",
            "--submit-rate-limit",
            "0",
            "--max-pending-jobs-per-user",
            "0",
            "--log-level",
            "warning",
            *db,
        ),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        ready_s = time.perf_counter() - started
        s = httpx.post(
            f"{base}/api/auth/login", json={"email": "bench@example.org", "password": "benchpassword", "mode": "token"}
        ).json()["session_token"]
        token = httpx.post(f"{base}/api/tokens", json={"name": "b"}, headers={"Authorization": f"Bearer {s}"}).json()[
            "token"
        ]
        c = httpx.Client(base_url=base, headers={"X-API-Token": token}, timeout=60)
        d = c.post(
            "/api/op/drivers/create",
            json={"name": "noop", "qpu": "q0", "kind": "custom", "events": ["JobDispatch", "JobResult"]},
        ).json()
        dlog = open(data.parent / "driver.log", "ab")  # noqa: SIM115
        driver = subprocess.Popen(
            qpi(
                "driver",
                "start",
                "--qpi-addr",
                base,
                "--token",
                d["token"],
                "--ca-fingerprint",
                d["ca_fingerprint"],
                "--executor",
                "benchmarks.noop_executor:NoopExecutor",
                "--data-dir",
                str(data.parent / "drv"),
                "--ca-file",
                str(data.parent / "drv" / "ca.pem"),
                "--log-level",
                "warning",
                "--reconnect-min",
                "0.2s",
            ),
            cwd=REPO,
            env=env,
            stdout=dlog,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while c.get("/api/qpus/q0").json()["status"] != "online":
            time.sleep(0.1)
        ids = []
        body = {"qpu_target": "q0", "shots": 1000, "circuits": [{"circuit": BELL}]}
        for _ in range(n + 10):
            job_id = c.post("/api/jobs", json=body).json()["id"]
            while c.get(f"/api/jobs/{job_id}").json()["state"] not in ("completed", "failed"):
                time.sleep(0.002)
            ids.append(job_id)
        ids = ids[10:]
        return created_to_dispatched(url, data, ids), ready_s, rss_mb(server.pid)
    finally:
        for proc in (driver, server):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)


def created_to_dispatched(url: str, data: Path, ids: list[str]) -> list[float]:
    marks = ",".join("?" for _ in ids)
    query = f"SELECT created, dispatched_at FROM quantum_jobs WHERE id IN ({marks})"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(data / "qpi.sqlite3")
        rows = conn.execute(query, ids).fetchall()
        conn.close()
    else:
        import asyncpg

        async def read() -> list[tuple[int, int]]:
            conn = await asyncpg.connect(url)
            try:
                pg = query.replace("?", "{}")
                pg = pg.format(*[f"${i + 1}" for i in range(len(ids))])
                return [(r[0], r[1]) for r in await conn.fetch(pg, *ids)]
            finally:
                await conn.close()

        rows = asyncio.run(read())
    return [(d - c) / 1000 for c, d in rows]


def run(db: str, backlog: int, n: int, *, analyze: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="qpi-dispatch-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir(mode=0o700)

        def measure(url: str) -> None:
            asyncio.run(prepare(url, backlog, analyze=analyze))
            decisions = asyncio.run(decision_times(url, n))
            latencies, ready_s, rss = submit_to_dispatch(url, data, n)
            print(settings_line(figure="dispatch", database=db, backlog=backlog, qpus=10, n=n, analyze=analyze))
            report(f"dispatch_decision_ms[backlog={backlog}]", percentile(decisions, 0.5), "ms (p50)")
            report(f"submit_to_dispatch_p95_ms[backlog={backlog}]", percentile(latencies, 0.95), "ms")
            print(f"  (submit_to_dispatch p50 {percentile(latencies, 0.5):.3f} ms, max {max(latencies):.3f} ms)")
            report(f"ready_s[backlog={backlog}]", ready_s, "s")
            report(f"rss_mb[queued={backlog}]", rss, "MiB")

        if db == "sqlite":
            measure(f"sqlite:///{data / 'qpi.sqlite3'}")
        else:
            with pg_database() as url:
                measure(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--backlogs", default="100,100000")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument(
        "--no-analyze", action="store_true", help="PostgreSQL: no VACUUM ANALYZE after the bulk load (stale statistics)"
    )
    args = parser.parse_args()
    print("note: the server, the driver, its workers and this client share the machine's cores")
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        for backlog in (int(b) for b in args.backlogs.split(",")):
            run(db, backlog, args.n, analyze=not args.no_analyze)


if __name__ == "__main__":
    os.chdir(REPO)
    main()
