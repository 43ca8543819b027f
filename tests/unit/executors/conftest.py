from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qpi.driver.executors.aer import AerExecutor
from qpi.driver.executors.mock import MockExecutor

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""

TWO_REGISTERS = """OPENQASM 2.0; include "qelib1.inc";
qreg q[3]; creg a[1]; creg b[2];
x q[0]; x q[2];
measure q[0] -> a[0]; measure q[1] -> b[0]; measure q[2] -> b[1];
"""

CONTROL_FLOW = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
x q[0];
c[0] = measure q[0];
if (c[0]) { x q[1]; }
c[1] = measure q[1];
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockExecutor]:
    executor = MockExecutor(name="sim-1", data_dir=tmp_path_factory.mktemp("mock"))
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def aer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AerExecutor]:
    executor = AerExecutor(name="aer-1", data_dir=tmp_path_factory.mktemp("aer"), max_parallel_threads=1)
    yield executor
    executor.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def bell_qasm() -> str:
    return BELL


@pytest.fixture
def two_registers_qasm() -> str:
    return TWO_REGISTERS


@pytest.fixture
def control_flow_qasm() -> str:
    return CONTROL_FLOW
