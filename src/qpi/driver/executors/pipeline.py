"""The steps every built-in executor's ``execute`` shares around its own per-experiment run.

:func:`warn_unused_options` adds the result warning for run options the executor does not read;
:func:`run_experiments` runs the expanded experiments in order (reporting progress) and assembles
the job's ``qpi.dataset/1`` dataset from their records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qpi.driver.executors.dataset import ExperimentRecord, build_dataset
from qpi.driver.executors.expansion import Experiment
from qpi.driver.progress import report_progress
from qpi.protocol.payload import JobPayload

if TYPE_CHECKING:
    import xarray as xr

    from qpi.driver.executors.base import Executor

__all__ = ["run_experiments", "warn_unused_options"]


def warn_unused_options(executor: Executor, payload: JobPayload) -> None:
    """One result warning per run option of ``payload`` (the executor reads none of them)."""
    for key in sorted(payload.options):
        executor.warn(f"run option {key!r} is not used by the {executor.kind} executor and was ignored")


def run_experiments(
    executor: Executor,
    payload: JobPayload,
    experiments: Sequence[Experiment],
    run: Callable[[Experiment], ExperimentRecord],
) -> xr.Dataset:
    """``run`` each experiment in order, reporting progress, then build the job's dataset."""
    records = []
    for experiment in experiments:
        report_progress(experiment.index / len(experiments), "running")
        records.append(run(experiment))
    return build_dataset(
        payload.id,
        executor.kind,
        meas_level=payload.meas_level,
        meas_return=payload.meas_return,
        memory=payload.memory,
        experiments=records,
    )
