"""Submit latency and throughput (``../shared/BENCHMARKS.md``: submit_p50_ms, submit_p95_ms, submit_per_s).

    python benchmarks/submit.py [--db sqlite|postgres|both] [--n 1000] [--total 5000] [--clients 8]

One Bell circuit, 1000 shots, API-token auth, against a QPU without a driver (jobs stay pending),
rate limits and the pending-job cap off. Latency: one client, sequential, after 50 warm-up
requests. Throughput: 8 concurrent clients with connection reuse.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from harness import BELL, percentile, pg_database, report, server, settings_line

BODY = {"qpu_target": "bench", "shots": 1000, "circuits": [{"circuit": BELL}]}


def latency(url: str, token: str, n: int, warmup: int = 50) -> list[float]:
    times: list[float] = []
    with httpx.Client(base_url=url, headers={"X-API-Token": token}, timeout=30) as c:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            r = c.post("/api/jobs", json=BODY)
            dt = time.perf_counter() - t0
            if r.status_code != 201:
                raise RuntimeError(r.text)
            if i >= warmup:
                times.append(dt * 1000)
    return times


async def throughput(url: str, token: str, total: int, clients: int) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Token": token}, timeout=60) as c:
            while remaining > 0:
                remaining -= 1
                r = await c.post("/api/jobs", json=BODY)
                if r.status_code != 201:
                    raise RuntimeError(r.text)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return total / (time.perf_counter() - t0)


def run(db: str, n: int, total: int, clients: int) -> None:
    def measure(database_url: str | None) -> None:
        with server(database_url=database_url) as srv:
            srv.qpu("bench", with_driver=False, num_qubits=5)
            times = latency(srv.url, srv.token, n)
            print(settings_line(figure="submit", database=db, n=n, clients=1))
            report("submit_p50_ms", percentile(times, 0.5), "ms")
            report("submit_p95_ms", percentile(times, 0.95), "ms")
            per_s = asyncio.run(throughput(srv.url, srv.token, total, clients))
            print(settings_line(figure="submit", database=db, n=total, clients=clients))
            report("submit_per_s", per_s, "submissions/s")

    if db == "sqlite":
        measure(None)
    else:
        with pg_database() as url:
            measure(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print("note: server, client and database share this machine's cores")
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(db, args.n, args.total, args.clients)


if __name__ == "__main__":
    main()
