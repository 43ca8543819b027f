"""``POST /api/jobs``: every bad input of api.md §3.3 (checks 5 to 14), and that a refused
submission stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

BELL = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1]; measure q -> c;'
BELL3 = 'OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; c = measure q;'

PARAMETRIZED = (
    'OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
    "rx(theta) q[0]; c[0] = measure q[0];"
)


def body(*circuits: Any, **fields: Any) -> dict[str, Any]:
    items = [c if isinstance(c, dict) else {"circuit": c} for c in circuits] or [{"circuit": BELL}]
    return {"circuits": items, "qpu_target": "sim", **fields}


async def _setup(kit: Any, **qpu_fields: Any) -> tuple[Any, Any, dict[str, Any]]:
    admin = await kit.user(role="superuser")
    alice = await kit.user()
    qpu = await kit.qpu(admin, "sim", **qpu_fields)
    return admin, alice, qpu


async def test_bad_inputs_store_nothing(kit: Any) -> None:
    admin, alice, qpu = await _setup(kit, max_shots=2000, max_circuits=3)
    await kit.qpu(admin, "off", enabled=False)
    await kit.qpu(admin, "tiny", num_qubits=1)
    await kit.set_device(qpu["id"], {"num_qubits": 5, "meas_levels": [2]})
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        # check 6: shape, types, unknown fields, bounds, tags, names
        (body(bogus=1), 400, "unknown_field", "bogus"),
        (
            {"circuits": [{"circuit": BELL, "shots_per_circuit": 3}], "qpu_target": "sim"},
            400,
            "unknown_field",
            "circuits[0].shots_per_circuit",
        ),
        (body(shots="many"), 400, "invalid_request", "shots"),
        ({"circuits": "OPENQASM 2.0;", "qpu_target": "sim"}, 400, "invalid_request", "circuits"),
        ({"circuits": [{"circuit": 5}], "qpu_target": "sim"}, 400, "invalid_request", None),
        (body(memory="yes"), 400, "invalid_request", "memory"),
        (body(meas_level=3), 400, "invalid_request", "meas_level"),
        (body(meas_return="sum"), 400, "invalid_request", "meas_return"),
        ({"qpu_target": "sim"}, 400, "invalid_request", "circuits"),
        (body(tags="one"), 400, "invalid_request", "tags"),
        (body(shots=0), 400, "shots_out_of_range", "shots"),
        (body(shots=-5), 400, "shots_out_of_range", "shots"),
        (body({"circuit": BELL, "shots": 0}), 400, "shots_out_of_range", "circuits[0].shots"),
        (body(tags=["has space"]), 400, "invalid_tags", None),
        (body(tags=[""]), 400, "invalid_tags", None),
        (body(tags=["x" * 65]), 400, "invalid_tags", None),
        (body(tags=[f"t{i}" for i in range(21)]), 400, "invalid_tags", "tags"),
        (body({"circuit": BELL, "name": "a"}, {"circuit": BELL, "name": "a"}), 400, "duplicate_circuit_name", None),
        # check 7, 8
        (body(qpu_target="nowhere"), 400, "qpu_not_found", "qpu_target"),
        (body(qpu_target="off"), 409, "qpu_disabled", None),
        # check 9: the QPU's limits
        (body(shots=2001), 400, "shots_out_of_range", "shots"),
        (body(BELL, {"circuit": BELL, "shots": 2001}), 400, "shots_out_of_range", "circuits[1].shots"),
        (body(BELL, BELL, BELL, BELL), 400, "too_many_circuits", "circuits"),
        (
            body({"circuit": PARAMETRIZED, "parameter_values": [[0.1], [0.2], [0.3], [0.4]]}),
            400,
            "too_many_circuits",
            "circuits",
        ),
        # checks 10 to 14
        (body("OPENQASM 2.0; qreg q[2]; creg c[2];\nfoo q[0];"), 400, "invalid_circuit", "circuits[0].circuit"),
        (
            body(BELL, "OPENQASM 3.0;\nqubit[1] q;\nbit[1] c;\nc[0] = measure q[0]\n"),
            400,
            "invalid_circuit",
            "circuits[1].circuit",
        ),
        (body(BELL, qpu_target="tiny"), 400, "circuit_too_wide", "circuits[0].circuit"),
        (body('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; x q[0];'), 400, "no_measurements", "circuits[0].circuit"),
        (
            body('OPENQASM 2.0; include "qelib1.inc"; qreg q[1]; creg c[1]; x q[0];'),
            400,
            "no_measurements",
            "circuits[0].circuit",
        ),
        (body(PARAMETRIZED), 400, "parameter_mismatch", "circuits[0].parameter_values"),
        (
            body({"circuit": PARAMETRIZED, "parameter_values": [[0.1, 0.2]]}),
            400,
            "parameter_mismatch",
            "circuits[0].parameter_values",
        ),
        (
            body({"circuit": BELL, "parameter_values": [[0.1]]}),
            400,
            "parameter_mismatch",
            "circuits[0].parameter_values",
        ),
        (body(meas_level=1), 400, "unsupported_meas_level", "meas_level"),
    ]
    before = await kit.counts()
    failures = []
    for payload, status, code, field in cases:
        r = await kit.submit(alice, payload)
        try:
            kit.error(r, status, code, field)
        except AssertionError:
            failures.append(f"{payload}: {r.status_code} {r.text}")
    assert not failures, "\n".join(failures)
    assert await kit.counts() == before
    # the same QPU accepts a good submission (the cases above failed for their own reason)
    r = await kit.submit(alice, body(BELL, {"circuit": PARAMETRIZED, "parameter_values": [[0.5]]}))
    assert r.status_code == 201, r.text
    assert await kit.count(kit.t.jobs) == before[kit.t.jobs] + 1


async def test_invalid_circuit_detail_names_the_line(kit: Any) -> None:
    _, alice, _ = await _setup(kit)
    r = await kit.submit(alice, body("OPENQASM 2.0;\nqreg q[2];\ncreg c[2];\nfoo q[0];\n"))
    detail = kit.error(r, 400, "invalid_circuit", "circuits[0].circuit")["detail"]
    assert "line 4" in detail, detail
    r = await kit.submit(alice, body(BELL3, "OPENQASM 3.0;\nqubit[1] q;\nbit[1] c;\nc[0] = measure q[0]\nx q[0];\n"))
    detail = kit.error(r, 400, "invalid_circuit", "circuits[1].circuit")["detail"]
    assert "line" in detail and "circuits[1]" in detail, detail
    assert await kit.count(kit.t.jobs) == 0


async def test_no_qpu_available_for_automatic_placement(kit: Any) -> None:
    admin, alice, qpu = await _setup(kit)
    r = await kit.submit(alice, {"circuits": [{"circuit": BELL}]})
    body_ = kit.error(r, 409, "no_qpu_available")
    assert "sim" in body_["detail"], body_
    r = await kit.submit(alice, {"circuits": [{"circuit": BELL}], "qpu_target": ""})  # "" = not given
    kit.error(r, 409, "no_qpu_available")
    assert await kit.count(kit.t.jobs) == 0
    # with an online process driver the server places the job itself
    r = await kit.client.post(
        "/api/op/drivers/create", json={"name": "d", "qpu": "sim", "kind": "mock"}, headers=admin.headers
    )
    assert r.status_code == 201
    await kit.driver_online(qpu["id"])
    r = await kit.submit(alice, {"circuits": [{"circuit": BELL}], "qpu_target": ""})
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["qpu_auto"] is True and job["qpu"] == {"id": qpu["id"], "name": "sim"}
    assert r.headers["Location"] == f"/api/jobs/{job['id']}"


async def test_insufficient_balance(kit: Any) -> None:
    admin = await kit.user(role="superuser", seconds=0)
    broke = await kit.user(seconds=0)
    await kit.qpu(admin, "sim")
    before = await kit.counts()
    r = await kit.submit(broke)
    kit.error(r, 403, "insufficient_balance")
    assert await kit.counts() == before
    # a superuser with 0 s is never gated
    r = await kit.submit(admin)
    assert r.status_code == 201, r.text


async def test_validation_order(kit: Any) -> None:
    """The first failing check of api.md §3.3 answers."""
    admin, alice, _ = await _setup(kit, max_circuits=1)
    broke = await kit.user(seconds=0)
    await kit.qpu(admin, "off", enabled=False)
    await kit.qpu(admin, "tiny", num_qubits=1)
    bad = "OPENQASM 2.0; qreg q[1]; nonsense;"
    json_headers = {"content-type": "application/json"}
    # 5 before 6: no balance beats a malformed body
    r = await kit.client.post("/api/jobs", content=b"{not json", headers={**broke.headers, **json_headers})
    kit.error(r, 403, "insufficient_balance")
    r = await kit.submit(broke, {"circuits": [], "bogus": 1})
    kit.error(r, 403, "insufficient_balance")
    # 6 before 7: an unknown field beats an unknown QPU
    kit.error(await kit.submit(alice, body(qpu_target="nowhere", bogus=1)), 400, "unknown_field", "bogus")
    # 7 before 10: unknown QPU beats a bad circuit
    kit.error(await kit.submit(alice, body(bad, qpu_target="nowhere")), 400, "qpu_not_found", "qpu_target")
    # 8 before 9 and 10: a disabled QPU beats limits and circuits
    kit.error(await kit.submit(alice, body(bad, bad, qpu_target="off", shots=10**9)), 409, "qpu_disabled")
    # automatic placement: no candidate beats a bad circuit
    kit.error(await kit.submit(alice, {"circuits": [{"circuit": bad}]}), 409, "no_qpu_available")
    # 9 before 10: too many circuits beats a bad circuit
    kit.error(await kit.submit(alice, body(bad, bad)), 400, "too_many_circuits")
    # 10 before 11: a bad circuit beats a wide one
    kit.error(await kit.submit(alice, body(bad, qpu_target="tiny")), 400, "invalid_circuit")
    # 11 before 12: too wide beats no measurement
    kit.error(await kit.submit(alice, body("OPENQASM 2.0; qreg q[3];", qpu_target="tiny")), 400, "circuit_too_wide")
    assert await kit.count(kit.t.jobs) == 0
