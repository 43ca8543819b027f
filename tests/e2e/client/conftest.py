"""Fixtures of the client end-to-end tests: one ``qpi serve --local-qpu mock`` for all of them.

The CLI runs as a user runs it (``python -m qpi …`` in a subprocess) with the server's client
configuration (profile ``local``, the superuser ``admin@localhost``). A second QPU without any
driver holds jobs pending for the wait-timeout and Ctrl-C scenarios.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e.support import LocalServer, start_local_server

QASM2_BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
QASM3_X = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[3] q;\nbit[3] c;\nx q[0];\nc = measure q;\n'
CONTROL_FLOW = (
    'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nh q[0];\nc[0] = measure q[0];\n'
    "if (c[0]) x q[1];\nc[1] = measure q[1];\n"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Shared:
    server: LocalServer
    driverless: str  # a QPU without any driver: its jobs wait (no_driver_online)


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    tmp = tmp_path_factory.mktemp("client-e2e")
    server = start_local_server(tmp)
    try:
        with server.client() as c:
            r = c.post("/api/op/qpus/create", json={"name": "idle", "num_qubits": 5, "with_driver": False})
            assert r.status_code == 201, r.text
        yield Shared(server=server, driverless="idle")
    finally:
        code = server.process.stop()
        assert code == 0, f"qpi serve exited with {code}:\n{server.process.output()[-3000:]}"
