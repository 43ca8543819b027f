"""Both hardware executors behind real ``qpi serve`` and ``qpi driver start --is-dummy`` processes.

Bell, GHZ-3 and a parametrized circuit in one job per measurement level; each job must complete
with a result document Qiskit reads (executors.md §2–§3, issue 6).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qiskit.result import Result

from e2e.cluster import Cluster
from qpi.driver.executors.hardware.assembler import dummy_run_unavailable_reason

_NO_RUNS = dummy_run_unavailable_reason()
pytestmark = [pytest.mark.hardware, pytest.mark.skipif(_NO_RUNS is not None, reason=_NO_RUNS or "")]

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
GHZ3 = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
    "h q[0];\ncx q[0],q[1];\ncx q[1],q[2];\nmeasure q -> c;\n"
)
PARAMETRIZED = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] theta;\ninput float[64] phi;\n'
    "qubit[2] q;\nbit[2] c;\nrx(theta) q[0];\nry(phi) q[1];\ncz q[0], q[1];\nc = measure q;\n"
)
CIRCUITS = [
    {"circuit": BELL, "name": "bell"},
    {"circuit": GHZ3, "name": "ghz3"},
    {"circuit": PARAMETRIZED, "name": "param", "parameter_values": [[0.1, 0.2], [1.5, -0.3]]},
]
WIDTHS = [2, 3, 2, 2]  # bell, ghz3, param[0], param[1]
LEVELS = [(2, "single"), (1, "single"), (1, "avg"), (0, "avg")]
SHOTS = 50


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("hardware"))
    c.bootstrap()
    try:
        yield c
    finally:
        c.stop()


@pytest.mark.parametrize("kind", ["quantify", "qblox"])
def test_three_circuits_at_every_level_through_server_and_driver(cluster: Cluster, kind: str) -> None:
    qpu = cluster.qpu(f"{kind}-dummy", kind)
    cluster.start_driver(qpu, kind, "--is-dummy", name=kind)
    cluster.wait_online(f"{kind}-dummy", timeout=180)  # the driver is online only after the warm-up
    ids = []
    with cluster.http() as c:
        for level, meas_return in LEVELS:
            body = {
                "qpu_target": f"{kind}-dummy",
                "shots": SHOTS,
                "circuits": CIRCUITS,
                "meas_level": level,
                "meas_return": meas_return,
                "memory": True,
            }
            r = c.post("/api/jobs", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    jobs = cluster.wait_all(ids, timeout=300)
    for job, (level, meas_return) in zip(jobs, LEVELS, strict=True):
        assert job["state"] == "completed", (level, meas_return, job.get("error"), job.get("results"))
        result = Result.from_dict(job["results"])
        assert [r.header["name"] for r in result.results] == ["bell", "ghz3", "param[0]", "param[1]"]
        for index, width in enumerate(WIDTHS):
            assert result.results[index].header["memory_slots"] == width
            if level == 2:
                counts = result.get_counts(index)
                assert sum(counts.values()) == SHOTS and all(len(key) == width for key in counts)
                assert len(result.get_memory(index)) == SHOTS
            elif level == 1:
                memory = np.asarray(result.get_memory(index))
                assert memory.shape == ((SHOTS, width) if meas_return == "single" else (width,))
            else:
                memory = np.asarray(result.get_memory(index))
                assert memory.ndim == 2 and memory.shape[0] == width and memory.shape[1] > 0
