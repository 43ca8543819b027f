"""Fixtures of the hardware integration tests: the executors on the dummy cluster.

One executor per kind and per test module (importing quantify-scheduler takes seconds), built in
its own working directory like a driver worker (the dummy assembler writes ``tmp.q1asm`` there),
from the shipped example configs (dummy mode falls back to them). Where the bundled Q1 assembler
cannot run (E-3.12), tests that run schedules are skipped with the reason; compile-only tests
still run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qpi.driver.executors.hardware.assembler import dummy_run_unavailable_reason
from qpi.driver.executors.hardware.executor import HardwareExecutor
from qpi.driver.executors.registry import resolve_executor

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
GHZ3 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
    "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
)
PARAMETRIZED = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\ninput float[64] phi;\n'
    "qubit[2] q;\nbit[2] c;\nrx(theta) q[0];\nry(phi) q[1];\ncz q[0], q[1];\nc = measure q;\n"
)

RUN_SKIP = dummy_run_unavailable_reason()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def build_executor(kind: str, workdir: Path, **options: Any) -> HardwareExecutor:
    """An executor of ``kind`` built in ``workdir`` (the caller changes into it)."""
    cls = resolve_executor(kind)
    executor = cls(name=f"{kind}-test", data_dir=workdir, **options)
    assert isinstance(executor, HardwareExecutor)
    return executor


@pytest.fixture(scope="module", params=["quantify", "qblox"])
def executor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HardwareExecutor]:
    """A dummy-mode executor on the shipped examples, warmed up (self-test) when runs work."""
    workdir = tmp_path_factory.mktemp(f"{request.param}-worker")
    previous = Path.cwd()
    os.chdir(workdir)
    built: HardwareExecutor | None = None
    try:
        built = build_executor(request.param, workdir, is_dummy=True)
        if RUN_SKIP is None:
            built.warm_up()
        yield built
    finally:
        if built is not None:
            built.close()
        os.chdir(previous)
