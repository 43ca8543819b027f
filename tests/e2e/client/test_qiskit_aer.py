"""The Qiskit flow against ``qpi serve --local-qpu aer`` (``client-and-cli.md`` §2)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from e2e.support import LocalServer, start_local_server

pytest.importorskip("qiskit_aer")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus
from qiskit.providers.exceptions import QiskitBackendNotFoundError


@pytest.fixture(scope="module")
def aer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = start_local_server(tmp_path_factory.mktemp("aer"), "aer")
    try:
        yield server
    finally:
        code = server.process.stop()
        assert code == 0, f"qpi serve exited with {code}:\n{server.process.output()[-3000:]}"


@pytest.fixture(scope="module")
def provider(aer: LocalServer) -> Iterator[object]:
    from qpi.client.qiskit import QPIProvider

    with QPIProvider(aer.url, aer.token) as qpi:
        yield qpi


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, n, name=f"ghz{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure(range(n), range(n))
    return qc


def registers() -> QuantumCircuit:
    q, c0, c1 = QuantumRegister(3, "q"), ClassicalRegister(2, "c0"), ClassicalRegister(1, "c1")
    qc = QuantumCircuit(q, c0, c1, name="regs")
    qc.x(q[0])
    qc.x(q[2])
    qc.measure(q[0], c0[0])
    qc.measure(q[1], c0[1])
    qc.measure(q[2], c1[0])
    return qc


def zeros() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="zeros")
    qc.measure([0, 1], [0, 1])
    return qc


def test_backend_target_transpile_and_several_circuits(provider: object, aer: LocalServer) -> None:
    from qpi.client.qiskit import QPIBackend

    backend = provider.get_backend("local_aer")  # type: ignore[attr-defined]
    assert isinstance(backend, QPIBackend) and backend.num_qubits >= 5 and backend.max_circuits >= 3
    assert "cx" in backend.target.operation_names and "measure" in backend.target.operation_names
    circuit = transpile(ghz(5), backend, seed_transpiler=1)
    assert set(circuit.count_ops()) <= set(backend.target.operation_names) | {"barrier"}

    job = backend.run([circuit, registers(), zeros()], shots=300, memory=True, seed_simulator=11)
    result = job.result(timeout=120)
    assert job.status() is JobStatus.DONE and result.success
    assert set(result.get_counts(0)) <= {"00000", "11111"} and sum(result.get_counts(0).values()) == 300
    assert result.get_counts(registers()) == {"1 01": 300} == result.get_counts(1)
    memory = result.get_memory(registers())
    assert len(memory) == 300 and set(memory) == {"1 01"}
    assert result.get_counts("zeros") == {"00": 300}

    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys\nfrom qpi.client.qiskit import QPIProvider\n"
            "with QPIProvider() as p:\n    print(json.dumps(p.job(sys.argv[1]).result().get_counts()))",
            job.job_id(),
        ],
        env={**aer.env, "QPI_ADDR": aer.url, "QPI_API_TOKEN": aer.token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == result.get_counts()
    assert job.cancel() is False  # already finished


def test_sampler_v2_with_a_parametrised_circuit(provider: object) -> None:
    backend = provider.get_backend("local_aer")  # type: ignore[attr-defined]
    theta = Parameter("θ")
    pc = QuantumCircuit(1, 1, name="rot")
    pc.ry(theta, 0)
    pc.measure(0, 0)
    sampler = BackendSamplerV2(backend=backend)
    plain = sampler.run([(ghz(3),)], shots=500).result()
    counts = plain[0].data.c.get_counts()
    assert sum(counts.values()) == 500 and set(counts) <= {"000", "111"}
    swept = sampler.run([(pc, [[0.0], [3.141592653589793], [1.5707963267948966]])], shots=500).result()
    bits = swept[0].data.c
    assert [sum(bits.get_counts(i).values()) for i in range(3)] == [500, 500, 500]
    assert bits.get_counts(0) == {"0": 500} and bits.get_counts(1) == {"1": 500}

    sweep = backend.run(pc, parameter_values=[[0.0], [3.141592653589793]], shots=40).result()
    assert [sweep.get_counts(i) for i in range(2)] == [{"0": 40}, {"1": 40}]


def test_refusals_and_failures(provider: object) -> None:
    from qpi.client.qiskit import BackendNotFoundError
    from qpi.errors import InvalidInputError, NotFoundError

    backend = provider.get_backend("local_aer")  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="valid options"):
        backend.run(ghz(2), shots=10, bogus=1)
    with pytest.raises(InvalidInputError, match="qubits; the backend has"):
        backend.run(ghz(backend.num_qubits + 1))
    with pytest.raises(InvalidInputError, match="free parameters"):
        theta = Parameter("t")
        free = QuantumCircuit(1, 1)
        free.rx(theta, 0)
        free.measure(0, 0)
        backend.run(free)
    with pytest.raises(BackendNotFoundError) as missing:
        provider.get_backend("nope")  # type: ignore[attr-defined]
    assert isinstance(missing.value, QiskitBackendNotFoundError) and isinstance(missing.value, NotFoundError)
    backend.set_options(shots=64)
    assert sum(backend.run(zeros()).result().get_counts().values()) == 64
    unmeasured = QuantumCircuit(2, 2)
    unmeasured.h(0)
    with pytest.raises(InvalidInputError, match="no measurement"):  # the server's 400, before any job exists
        backend.run(unmeasured)
