"""Client start-up (``../shared/BENCHMARKS.md``: cold_start_s).

    python benchmarks/cold_start.py [--runs 5]

Wall time of ``qpi submit bell.qasm --no-wait`` in a fresh process against a running server (the
job is accepted and its id printed), and of ``python -c "import qpi.client"``; medians of
``--runs`` runs after one untimed run (which fills the OS page cache, as a second use does).
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

from harness import BELL, median, report, server, settings_line


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


if __name__ == "__main__":
    main()
