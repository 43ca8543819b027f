"""OpenQASM input: version detection, parsing, summaries and parameter binding (``executors.md`` §4).

Shared by the server (submission validation, :mod:`qpi.server.circuits`) and the driver's
executors. ``import qpi`` does not import this package; importing it imports qiskit.

**Threads.** Import this package in the main thread before using it from other threads (the
server's ``anyio.to_thread`` workers, a driver's helpers): a first import of qiskit inside a worker
thread followed by ``qiskit.qasm2.loads`` from another thread has crashed a process. Once imported,
every function here is safe to call from several threads; OpenQASM 3 parsing is serialised by a
lock (the GIL serialises it anyway). Call :func:`warm_up` at start-up so that the first user
circuit does not pay the first call of the OpenQASM 3 importer.

OpenQASM 3 brackets nested more than 256 deep are refused before parsing: the importer fails on
them anyway (Python's recursion limit), after seconds of work.

Modules:

- :mod:`qpi.qasm.version`: ``detect_version``, ``normalise_source`` (E-4.1, ``api.md`` §3.1)
- :mod:`qpi.qasm.loader`: ``parse``, ``parse_versioned``, ``warm_up`` (E-4.2 … E-4.4)
- :mod:`qpi.qasm.diagnostics`: error positions from the native OpenQASM 3 parser (E-4.4)
- :mod:`qpi.qasm.summary`: ``circuit_summary`` → ``CircuitSummary``
- :mod:`qpi.qasm.parameters`: ``check_parameter_sets``, ``bind_parameter_sets`` (E-4.5, E-4.6)
- :mod:`qpi.qasm.source`: positions and bracket nesting in source text
"""

from __future__ import annotations

from qpi.qasm.loader import parse, parse_versioned, warm_up
from qpi.qasm.parameters import BoundExperiment, bind_parameter_sets, check_parameter_sets, experiment_name
from qpi.qasm.summary import CircuitSummary, circuit_summary
from qpi.qasm.version import MISSING_HEADER, PARSE_PREFIX, QasmVersion, detect_version, normalise_source

__all__ = [
    "MISSING_HEADER",
    "PARSE_PREFIX",
    "BoundExperiment",
    "CircuitSummary",
    "QasmVersion",
    "bind_parameter_sets",
    "check_parameter_sets",
    "circuit_summary",
    "detect_version",
    "experiment_name",
    "normalise_source",
    "parse",
    "parse_versioned",
    "warm_up",
]
