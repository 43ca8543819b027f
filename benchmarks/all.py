"""Every benchmark, one after the other (``docs/benchmarks.md``).

    python benchmarks/all.py [--quick]

Runs each script of this folder in its own process, as documented, and prints their figures.
``--quick`` uses small sizes (a smoke run: the figures are not the ones the issues ask for).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = [
    ["submit.py", "--db", "both"],
    ["e2e.py"],
    ["dispatch.py", "--db", "both"],
    ["cold_start.py"],
    ["hardware.py"],
]
QUICK = [
    ["submit.py", "--db", "sqlite", "--n", "200", "--total", "500"],
    ["e2e.py", "--jobs", "50", "--burst", "100", "--noop", "500"],
    ["dispatch.py", "--db", "sqlite", "--backlogs", "100,2000", "--n", "30"],
    ["cold_start.py", "--runs", "2"],
    ["hardware.py", "--jobs", "3"],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    failed = []
    for script, *options in QUICK if args.quick else FULL:
        print(f"=== python benchmarks/{script} {' '.join(options)}", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *options], cwd=HERE.parent)
        print(f"    ({time.perf_counter() - t0:.0f} s)", flush=True)
        if done.returncode:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
