"""The ``presto`` placeholder (``executors.md`` E-3.15).

The kind stays registrable on the server, but a driver started with ``--executor presto`` stops
with exit code 2 before connecting: upstream started it and then failed every job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from qpi.driver.executors.base import Executor
from qpi.errors import ConfigError
from qpi.protocol.payload import DeviceInfo, JobPayload

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["PRESTO_UNSUPPORTED", "PrestoExecutor"]

PRESTO_UNSUPPORTED = "The presto executor is not supported yet; use mock, qiskit_aer, quantify or qblox."


class PrestoExecutor(Executor):
    """Refuses to be built: :class:`ConfigError` with :data:`PRESTO_UNSUPPORTED`."""

    kind: ClassVar[str] = "presto"

    def __init__(self, *, name: str, data_dir: Path, **options: Any) -> None:
        raise ConfigError(PRESTO_UNSUPPORTED)

    def execute(self, payload: JobPayload) -> xr.Dataset:  # pragma: no cover - never built
        raise ConfigError(PRESTO_UNSUPPORTED)

    def device_info(self) -> DeviceInfo:  # pragma: no cover - never built
        raise ConfigError(PRESTO_UNSUPPORTED)
