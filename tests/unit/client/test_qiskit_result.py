"""``JobResult`` → Qiskit ``Result`` (``client-and-cli.md`` §2.5)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.result import Result

from qpi.client.models import result_from_api


def experiment(name: str, counts: dict[str, int], creg_sizes: list[list[object]], **extra: object) -> dict[str, object]:
    width = sum(int(s) for _, s in creg_sizes)  # type: ignore[call-overload]
    header = {
        "name": name,
        "n_qubits": width,
        "memory_slots": width,
        "creg_sizes": creg_sizes,
        "metadata": {"circuit_index": 0},
    }
    data: dict[str, object] = {"counts": counts}
    if "memory" in extra:
        data["memory"] = extra.pop("memory")
    return {
        "shots": sum(counts.values()),
        "success": True,
        "status": "DONE",
        "meas_level": 2,
        "header": header,
        "data": data,
        **extra,
    }


def doc(*experiments: dict[str, object]) -> dict[str, object]:
    return {
        "backend_name": "sim",
        "backend_version": "0.1.0",
        "job_id": "J",
        "qobj_id": "J",
        "success": True,
        "status": "COMPLETED",
        "shots": 10,
        "results": list(experiments),
    }


def test_leading_zeros_registers_and_memory() -> None:
    result = result_from_api(
        doc(
            experiment("zeros", {"00": 10}, [["c", 2]]),
            experiment("two", {"101": 10}, [["a", 1], ["b", 2]], memory=["101"] * 10),
            experiment("bell", {"00": 6, "11": 4}, [["c", 2]]),
        )
    ).to_qiskit()
    assert isinstance(result, Result) and result.success
    assert result.get_counts(0) == {"00": 10}
    assert result.get_counts("two") == {"10 1": 10}
    assert result.get_memory("two") == ["10 1"] * 10
    assert result.get_counts(2) == {"00": 6, "11": 4}
    assert [e.header["name"] for e in result.results] == ["zeros", "two", "bell"]
    assert result.to_dict()["job_id"] == "J"


def test_the_result_round_trips_through_qiskits_own_dict_form() -> None:
    again = Result.from_dict(result_from_api(doc(experiment("z", {"010": 3}, [["c", 3]]))).to_qiskit().to_dict())
    assert again.get_counts("z") == {"010": 3}


def test_a_failed_experiment_keeps_the_servers_message() -> None:
    failing = experiment("bad", {"0": 1}, [["c", 1]])
    failing.update(success=False, status="unsupported gate 'foo'")
    result = result_from_api(doc(experiment("ok", {"1": 1}, [["c", 1]]), failing)).to_qiskit()
    assert result.success is False
    assert result.results[1].success is False and result.results[1].status == "unsupported gate 'foo'"


def test_header_is_rebuilt_from_the_submitted_circuit_or_the_key_width() -> None:
    bare = {"shots": 4, "success": True, "meas_level": 2, "data": {"counts": {"011": 4}}}
    q, a, b = QuantumRegister(3, "q"), ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    circuit = QuantumCircuit(q, a, b, name="mine")
    rebuilt = result_from_api(doc(bare)).to_qiskit()  # no circuit known: one register as wide as the keys
    assert rebuilt.get_counts(0) == {"011": 4} and rebuilt.results[0].header["memory_slots"] == 3
    from qpi.client.qiskit.result import to_qiskit_result

    with_circuit = to_qiskit_result(result_from_api(doc(bare)), [circuit])
    assert with_circuit.get_counts(circuit) == {"01 1": 4}


def test_level_one_memory_stays_iq_pairs() -> None:
    iq = {
        "shots": 2,
        "success": True,
        "meas_level": 1,
        "meas_return": "single",
        "header": {"name": "iq", "memory_slots": 1, "creg_sizes": [["c", 1]]},
        "data": {"memory": [[[0.5, -0.25]], [[1.0, 2.0]]]},
    }
    memory = result_from_api(doc(iq)).to_qiskit().get_memory(0)
    assert np.allclose(memory, np.array([[0.5 - 0.25j], [1.0 + 2.0j]]))
