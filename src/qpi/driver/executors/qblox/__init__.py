"""The ``qblox`` executor: qblox-scheduler 1.0 ``HardwareAgent`` → Qblox cluster (``executors.md`` §3.4).

A thin adapter over :mod:`qpi.driver.executors.hardware`: same options, config files (the loader
rewrites ``config_type`` and accepts the quantify element paths), pipeline, conversion table,
readout rules and dummy handling as the ``quantify`` executor. This package provides
qblox-scheduler's operations and ``HardwareAgent`` (:mod:`.backend`) and the device elements
qblox-scheduler does not ship (:mod:`.elements`).

Importing this package is cheap; qblox-scheduler is imported when the executor is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from qpi.driver.executors.hardware.backend import HardwareBackend
from qpi.driver.executors.hardware.executor import HardwareExecutor

__all__ = ["QbloxExecutor"]


class QbloxExecutor(HardwareExecutor):
    """Runs circuits through qblox-scheduler's HardwareAgent on a (dummy) Qblox cluster."""

    kind: ClassVar[str] = "qblox"
    extra: ClassVar[str] = "qblox"
    libraries: ClassVar[tuple[str, ...]] = ("qblox_scheduler", "qblox_instruments")
    distributions: ClassVar[tuple[str, ...]] = ("qblox-scheduler", "qblox-instruments")

    def _make_backend(self, hardware: Mapping[str, Any]) -> HardwareBackend:
        from qpi.driver.executors.qblox.backend import QbloxBackend

        return QbloxBackend(
            self.spec,
            hardware,
            is_dummy=self.options.is_dummy,
            hardware_path=self.hardware_path,
            output_dir=Path.cwd(),
        )
