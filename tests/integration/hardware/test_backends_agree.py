"""One device file, one pulse: both executors play the same DRAG pulses for the same gates.

Virtual Z rotations are tracked in software on both, so they show up as turned pulse axes.

quantify's unitless ``rxy.motzoi`` becomes qblox-scheduler's ``beta`` (in seconds); the compiled
gains and waveforms must agree. The executors are built one after the other (QCoDeS instrument
names are process-wide).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import build_executor

pytestmark = pytest.mark.hardware

CIRCUIT = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\n'
    "sx q[0];\nx q[0];\nry(0.3) q[0];\nrz(0.4) q[0];\nsx q[0];\nh q[0];\ns q[0];\nx q[0];\nmeasure q[0] -> c[0];\n"
)


def drive_pulses(kind: str, workdir: Path) -> tuple[list[str], list[list[float]]]:
    executor = build_executor(kind, workdir, is_dummy=True)
    try:
        compiled = executor.compile_experiment(CIRCUIT, transpile=False)
        drive: Any = compiled.compiled.compiled_instructions["cluster0"]["cluster0_module2"]["sequencers"]["seq0"]
        gains = [
            line.split("#")[0].strip() for line in drive.sequence["program"].splitlines() if "set_awg_gain" in line
        ]
        waveforms = sorted(drive.sequence["waveforms"].values(), key=lambda w: w["index"])
        return gains, [[round(x, 9) for x in w["data"]] for w in waveforms]
    finally:
        executor.close()


def test_quantify_and_qblox_play_the_same_drive_pulses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    quantify = drive_pulses("quantify", tmp_path)
    qblox = drive_pulses("qblox", tmp_path)
    assert len(quantify[0]) == 6  # one gain setting per pulse; the Z rotations only turn later pulses
    assert quantify == qblox
