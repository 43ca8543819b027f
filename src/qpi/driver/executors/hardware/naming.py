"""Names of elements, ports and clocks shared by both hardware backends."""

from __future__ import annotations

__all__ = ["coupler_clock", "coupler_port", "edge_name", "qubit_clock", "qubit_name"]


def qubit_name(index: int) -> str:
    """Element name of physical qubit ``index`` (``q<index>``)."""
    return f"q{index}"


def qubit_clock(element: str) -> str:
    """Drive clock of a qubit element (``<element>.01``)."""
    return f"{element}.01"


def edge_name(parent: str, child: str) -> str:
    """Name of the edge between two elements (``<parent>_<child>``)."""
    return f"{parent}_{child}"


def coupler_port(edge: str) -> str:
    """Flux port of a flux-tunable coupler (``<edge>:fl``)."""
    return f"{edge}:fl"


def coupler_clock(edge: str) -> str:
    """Clock of a flux-tunable coupler's CZ pulse (``<edge>.cz``)."""
    return f"{edge}.cz"
