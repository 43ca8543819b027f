"""QPI, the Quantum Processing Interface.

Importing :mod:`qpi` starts nothing and imports nothing heavy: the server, the driver and the
client live in their own subpackages and are imported on demand.
"""

from __future__ import annotations

__version__ = "0.1.0"

from qpi.errors import QPIError

__all__ = ["QPIError", "__version__"]
