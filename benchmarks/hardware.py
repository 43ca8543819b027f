"""Hardware executors on the dummy cluster: warm-up and per-job compile / run time (issue 6).

    python benchmarks/hardware.py [--jobs 20] [--kinds quantify,qblox]

For each executor: ``qpi driver start --executor KIND --is-dummy`` beside a ``qpi serve`` (SQLite);
``warmup_s`` is the worker's own figure (import, configs, clusters, self-test: the driver log's
"ready in"), ``online_s`` from starting the driver to the QPU being online. Then ``--jobs`` sequential
1000-shot Bell jobs at meas_level 2; ``transpile_ms``, ``compile_ms`` and ``run_ms`` (the execute
stage: upload, arm, wait for the acquisition, read it back) are medians of the driver's per-job
timings, read from the server's database.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import time

from harness import BELL, median, report, server, settings_line


def driver_timings(srv, ids: list[str]) -> list[dict[str, float]]:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(srv.data / "qpi.sqlite3")
    try:
        marks = ",".join("?" for _ in ids)
        rows = conn.execute(f"SELECT timings FROM quantum_jobs WHERE id IN ({marks})", ids).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0])["driver"] for r in rows]


def measure(srv, kind: str, jobs: int) -> None:  # type: ignore[no-untyped-def]
    qpu = srv.qpu(f"{kind}-dummy", kind)
    t0 = time.perf_counter()
    srv.driver(qpu, kind, "--is-dummy", "--log-level", "info")
    srv.wait_online(f"{kind}-dummy", timeout=300)
    online = time.perf_counter() - t0
    log = (srv.data.parent / f"driver-{kind}-dummy.log").read_text()
    ready = re.search(rf"executor {kind} ready in ([0-9.]+) s", log)
    body = {"qpu_target": f"{kind}-dummy", "shots": 1000, "circuits": [{"circuit": BELL}], "meas_level": 2}
    ids = []
    with srv.http() as c:
        for _ in range(jobs + 2):  # two warm-up jobs
            job_id = c.post("/api/jobs", json=body).json()["id"]
            while (state := c.get(f"/api/jobs/{job_id}").json()["state"]) not in ("completed", "failed"):
                time.sleep(0.01)
            if state != "completed":
                raise RuntimeError(f"{kind} job {job_id} {state}: {c.get(f'/api/jobs/{job_id}').json()}")
            ids.append(job_id)
    timings = driver_timings(srv, ids[2:])
    print(settings_line(figure="hardware", executor=kind, is_dummy=True, shots=1000, n=len(timings)))
    report(f"warmup_s[{kind}]", float(ready.group(1)) if ready else float("nan"), "s")
    report(f"online_s[{kind}]", online, "s")
    report(f"transpile_ms[{kind}]", median([t["transpile_s"] * 1000 for t in timings]), "ms")
    report(f"compile_ms[{kind}]", median([t["compile_s"] * 1000 for t in timings]), "ms")
    report(f"run_ms[{kind}]", median([t["execute_s"] * 1000 for t in timings]), "ms")
    report(f"job_total_ms[{kind}]", median([t["total_s"] * 1000 for t in timings]), "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--kinds", default="quantify,qblox")
    args = parser.parse_args()
    print("note: the server, the driver, its worker and this client share the machine's cores")
    with server() as srv:
        for kind in args.kinds.split(","):
            measure(srv, kind, args.jobs)


if __name__ == "__main__":
    main()
