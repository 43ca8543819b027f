"""Start-up times (``../shared/BENCHMARKS.md``: cold_start_s, ready_s).

    python benchmarks/cold_start.py [--runs 5]

Wall time of ``qpi submit bell.qasm --no-wait`` in a fresh process against a running server (the
job is accepted and its id printed), and of ``python -c "import qpi.client"``; medians of
``--runs`` runs after one untimed run (which fills the OS page cache, as a second use does).
Then the server: ``qpi serve`` on a new, empty data directory (SQLite; the CA, certificates and
schema are created) to its first 200 from ``/api/health``, and ``ready_s``: ``qpi serve`` on that
existing data directory to its first 200 from ``/api/ready``; medians of ``--runs`` starts each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import BELL, free_port, median, qpi, report, server, settings_line


def timed(args: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"{args} exited {done.returncode}: {done.stderr or done.stdout}")
        if i:
            times.append(elapsed)
    return median(times)


def serve_start(data: Path, path: str, env: dict[str, str]) -> float:
    """Seconds from starting ``qpi serve`` to the first 200 from ``path``; the server is then stopped."""
    port = free_port()
    nng = free_port()
    args = ["serve", "--data-dir", str(data), "--server-port", str(port), "--host", "127.0.0.1"]
    args += ["--port-range-start", str(nng), "--port-range-end", str(nng + 4), "--log-level", "warning"]
    log_path = data.parent / "serve.log"
    with open(log_path, "ab") as log:  # a file, not a pipe: a chatty server never blocks on it
        t0 = time.perf_counter()
        proc = subprocess.Popen(qpi(*args), env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(timeout=1) as c:
            while True:
                try:
                    if c.get(f"http://127.0.0.1:{port}{path}").status_code == 200:
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"qpi serve exited {proc.returncode}: {log_path.read_text()[-2000:]}")
                time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def server_start(runs: int) -> tuple[float, float]:
    fresh, again = [], []
    env = {k: v for k, v in os.environ.items() if not k.startswith("QPI_")}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            env["QPI_CONFIG_DIR"] = str(Path(tmp) / "client")
            fresh.append(serve_start(Path(tmp) / "data", "/api/health", env))
            again.append(serve_start(Path(tmp) / "data", "/api/ready", env))
    return median(fresh), median(again)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    entry = shutil.which("qpi", path=str(Path(sys.executable).parent)) or ""
    command = [entry] if entry else [sys.executable, "-m", "qpi"]
    with server() as srv, tempfile.TemporaryDirectory() as tmp:
        srv.qpu("bench", with_driver=False, num_qubits=5)
        circuit = Path(tmp) / "bell.qasm"
        circuit.write_text(BELL)
        env = {**srv.env, "QPI_ADDR": srv.url, "QPI_API_TOKEN": srv.token, "QPI_QPU": "bench"}
        submit = timed([*command, "submit", str(circuit), "--no-wait"], env, args.runs)
        imported = timed([sys.executable, "-c", "import qpi.client"], dict(os.environ), args.runs)
    print(settings_line(figure="cold_start", runs=args.runs, entry=" ".join(command[-3:])))
    report("cold_start_s[qpi submit --no-wait]", submit, "s (median)")
    report("cold_start_s[import qpi.client]", imported, "s (median)")
    fresh, ready = server_start(args.runs)
    print(settings_line(figure="server_start", database="sqlite", runs=args.runs))
    report("serve_start_s[new data dir, /api/health]", fresh, "s (median)")
    report("ready_s[existing data dir, /api/ready]", ready, "s (median)")


if __name__ == "__main__":
    main()
