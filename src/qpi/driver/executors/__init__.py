"""Executors: the code that runs a job inside a driver worker (``executors.md``).

Importing this package imports nothing heavy: the built-in executors (``mock``, ``qiskit_aer``,
``quantify``, ``qblox``) are loaded by :func:`resolve_executor` inside a worker process.

- :mod:`~qpi.driver.executors.base`: the :class:`Executor` ABC, options parsing, stage timing
- :mod:`~qpi.driver.executors.registry`: kinds, entry points and ``package.module:Class``
- :mod:`~qpi.driver.executors.dataset`: the ``qpi.dataset/1`` builder shared by every executor
- :mod:`~qpi.driver.executors.results`: dataset → result document, and typing it once
- :mod:`~qpi.driver.executors.simulated`, ``mock``, ``aer``: the simulators
- :mod:`~qpi.driver.executors.target`: DeviceInfo → Qiskit Target, device files
"""

from __future__ import annotations

from qpi.driver.executors.base import CommonOptions, Executor, NoOptions, parse_options
from qpi.driver.executors.registry import is_simulator_kind, known_executor_names, resolve_executor

__all__ = [
    "CommonOptions",
    "Executor",
    "NoOptions",
    "is_simulator_kind",
    "known_executor_names",
    "parse_options",
    "resolve_executor",
]
