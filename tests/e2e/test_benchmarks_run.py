"""The benchmark scripts keep working: ``python benchmarks/all.py --quick`` runs every one of them.

Small sizes, so the figures mean nothing here; what is checked is that each script runs against
real ``qpi serve`` / ``qpi driver start`` processes and prints every figure ``docs/benchmarks.md``
reports, as a number.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIGURES = [
    "submit_p50_ms",
    "submit_p95_ms",
    "submit_per_s",
    "overhead_p50_ms",
    "overhead_p99_ms",
    "e2e_per_s",
    "raw_per_s",
    "throughput_ratio",
    "noop_per_s",
    "dispatch_decision_ms[backlog=100]",
    "submit_to_dispatch_p95_ms[backlog=2000]",
    "ready_s[backlog=2000]",
    "rss_mb[queued=2000]",
    "cold_start_s[qpi submit --no-wait]",
    "cold_start_s[import qpi.client]",
    "serve_start_s[new data dir, /api/health]",
    "ready_s[existing data dir, /api/ready]",
    "warmup_s[quantify]",
    "job_total_ms[qblox]",
]


def test_every_benchmark_runs_and_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/all.py", "--quick"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    values = dict(re.findall(r"^(\S.*?) = ([0-9.]+)", done.stdout, flags=re.MULTILINE))
    missing = [name for name in FIGURES if name not in values]
    assert not missing, f"not printed: {missing}\n{done.stdout[-3000:]}"
    assert all(float(values[name]) > 0 for name in FIGURES), values
