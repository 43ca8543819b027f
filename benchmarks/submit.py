"""Submit latency and throughput (``../shared/BENCHMARKS.md``: submit_p50_ms, submit_p95_ms, submit_per_s).

    python benchmarks/submit.py [--db sqlite|postgres|both] [--n 1000] [--total 5000] [--clients 8] [--distinct]

One Bell circuit, 1000 shots, API-token auth, against a QPU without a driver (jobs stay pending),
rate limits and the pending-job cap off. Latency: one client, sequential, after 50 warm-up
requests. Throughput: 8 concurrent clients (threads) with connection reuse. ``--distinct``
makes every circuit text unique, so the server's parse cache never hits.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time

import httpx
from harness import BELL, percentile, pg_database, report, server, settings_line

BODY = {"qpu_target": "bench", "shots": 1000, "circuits": [{"circuit": BELL}]}


_counter = itertools.count()


def body(distinct: bool) -> dict[str, object]:
    """The Bell job; with ``distinct`` every request's source differs (a comment), so the server's
    parse cache never hits: the cost of a circuit it has not seen before."""
    if not distinct:
        return BODY
    return {**BODY, "circuits": [{"circuit": BELL.replace("\n", f"\n// request {next(_counter)}\n", 1)}]}


def latency(url: str, token: str, n: int, warmup: int = 50, *, distinct: bool = False) -> list[float]:
    times: list[float] = []
    with httpx.Client(base_url=url, headers={"X-API-Token": token}, timeout=30) as c:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            r = c.post("/api/jobs", json=body(distinct))
            dt = time.perf_counter() - t0
            if r.status_code != 201:
                raise RuntimeError(r.text)
            if i >= warmup:
                times.append(dt * 1000)
    return times


def throughput(url: str, token: str, total: int, clients: int, *, distinct: bool = False) -> float:
    """``clients`` threads, each with its own keep-alive connection, share ``total`` requests.

    Sync httpx in threads: httpx's asyncio client costs about twice the CPU per request, and the
    client shares the machine's two cores with the server.
    """
    tickets = iter(range(total))
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Token": token}, timeout=60) as c:
            while not errors:
                with lock:
                    if next(tickets, None) is None:
                        return
                r = c.post("/api/jobs", json=body(distinct))
                if r.status_code != 201:
                    errors.append(r.text)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    return total / (time.perf_counter() - t0)


def run(db: str, n: int, total: int, clients: int, *, distinct: bool) -> None:
    def measure(database_url: str | None) -> None:
        with server(database_url=database_url) as srv:
            srv.qpu("bench", with_driver=False, num_qubits=5)
            times = latency(srv.url, srv.token, n, distinct=distinct)
            print(settings_line(figure="submit", database=db, n=n, clients=1, distinct=distinct))
            report("submit_p50_ms", percentile(times, 0.5), "ms")
            report("submit_p95_ms", percentile(times, 0.95), "ms")
            per_s = throughput(srv.url, srv.token, total, clients, distinct=distinct)
            print(settings_line(figure="submit", database=db, n=total, clients=clients, distinct=distinct))
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
    parser.add_argument(
        "--distinct", action="store_true", help="a different circuit text on every request (no parse-cache hits)"
    )
    args = parser.parse_args()
    print("note: server, client and database share this machine's cores")
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        run(db, args.n, args.total, args.clients, distinct=args.distinct)


if __name__ == "__main__":
    main()
