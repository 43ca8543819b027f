"""Inputs that callers build: :class:`Circuit`."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = ["Circuit"]


class Circuit(msgspec.Struct, frozen=True, kw_only=False):
    """One circuit of a submission: OpenQASM 2/3 source, an optional name, parameter sets and shots.

    ``parameter_values`` is a list of value lists, one per binding set, ordered like the circuit's
    parameters (by name, as Qiskit orders them).
    """

    qasm: str
    name: str | None = None
    parameter_values: Sequence[Sequence[float]] | None = None
    shots: int | None = None
