"""What the library and ``qpi submit`` accept as circuits, checked before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from qpi.cli.client.submit import parse_params, read_sources
from qpi.client.circuits import circuit_entries
from qpi.client.models import Circuit
from qpi.errors import InvalidInputError

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_every_accepted_form(tmp_path: Path) -> None:
    path = tmp_path / "bell.qasm"
    path.write_text(BELL)
    entries = circuit_entries(
        [BELL, path, Circuit(BELL, name="named", parameter_values=[[1, 2]], shots=5), {"circuit": BELL, "shots": 3}]
    )
    assert entries[0] == {"circuit": BELL}
    assert entries[1] == {"circuit": BELL, "name": "bell"}
    assert entries[2] == {"circuit": BELL, "name": "named", "parameter_values": [[1.0, 2.0]], "shots": 5}
    assert entries[3] == {"circuit": BELL, "shots": 3}


def test_quantum_circuits_are_serialised_with_their_name() -> None:
    qiskit = pytest.importorskip("qiskit")
    qc = qiskit.QuantumCircuit(1, 1, name="tiny")
    qc.measure(0, 0)
    (entry,) = circuit_entries(qc)
    assert entry["name"] == "tiny" and entry["circuit"].startswith("OPENQASM 3.0;")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "at least one"),
        ("   ", "no OpenQASM"),
        ({"circuit": BELL, "qasm": 1}, "unknown key 'qasm'"),
        (Circuit(BELL, shots=0), "positive integer"),
        (Circuit(BELL, parameter_values=[[float("inf")]]), "finite"),
        ([Circuit(BELL, name="x"), Circuit(BELL, name="x")], "used twice"),
        (42, "pass OpenQASM text"),
    ],
)
def test_local_refusals(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        circuit_entries(value)


def test_submit_files_are_named_after_stems_and_checked(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for name in ("a/bell.qasm", "bell.qasm"):
        (tmp_path / name).write_text(BELL)
    sources = read_sources((str(tmp_path / "bell.qasm"), str(tmp_path / "a/bell.qasm"), "-"), stdin_text=BELL)
    assert [s.name for s in sources] == ["bell", "bell-2", "stdin"]
    (tmp_path / "empty.qasm").write_text("  \n")
    (tmp_path / "latin.qasm").write_bytes(b"OPENQASM 2.0;\n// caf\xe9\n")
    with pytest.raises(InvalidInputError, match="empty file"):
        read_sources((str(tmp_path / "empty.qasm"),))
    with pytest.raises(InvalidInputError, match="not UTF-8"):
        read_sources((str(tmp_path / "latin.qasm"),))
    with pytest.raises(InvalidInputError, match="cannot read"):
        read_sources((str(tmp_path / "missing.qasm"),))
    with pytest.raises(InvalidInputError, match="only once"):
        read_sources(("-", "-"), stdin_text=BELL)


def test_params_option(tmp_path: Path) -> None:
    assert parse_params("[[0.1], [0.2]]") == [[0.1], [0.2]]
    (tmp_path / "p.json").write_text("[[1, 2]]")
    assert parse_params(f"@{tmp_path / 'p.json'}") == [[1, 2]]
    with pytest.raises(InvalidInputError, match="list of value lists"):
        parse_params('{"a": 1}')
