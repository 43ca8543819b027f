"""The ``quantify`` executor: quantify-scheduler 0.28 → Qblox cluster (``executors.md`` §3.3).

A thin adapter over :mod:`qpi.driver.executors.hardware`: the pipeline, options, config files,
conversion table and readout rules are shared with the ``qblox`` executor; this package only
provides quantify-scheduler's operations, compiler and instrument coordinator
(:mod:`.backend`) and the quantify flux-tunable coupler (:mod:`.elements`).

Importing this package is cheap; quantify-scheduler is imported when the executor is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from qpi.driver.executors.hardware.backend import HardwareBackend
from qpi.driver.executors.hardware.executor import HardwareExecutor

__all__ = ["QuantifyExecutor"]


class QuantifyExecutor(HardwareExecutor):
    """Runs circuits through quantify-scheduler on a (dummy) Qblox cluster."""

    kind: ClassVar[str] = "quantify"
    extra: ClassVar[str] = "quantify"
    libraries: ClassVar[tuple[str, ...]] = ("quantify_scheduler", "quantify_core", "qblox_instruments")
    distributions: ClassVar[tuple[str, ...]] = ("quantify-scheduler", "qblox-instruments")

    def _make_backend(self, hardware: Mapping[str, Any]) -> HardwareBackend:
        from qpi.driver.executors.quantify.backend import QuantifyBackend

        return QuantifyBackend(
            self.spec,
            hardware,
            self.cluster_infos,
            is_dummy=self.options.is_dummy,
            hardware_path=self.hardware_path,
        )
