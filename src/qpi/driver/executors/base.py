"""The public ``Executor`` base class (``executors.md`` §1.1).

An executor turns a :class:`~qpi.protocol.payload.JobPayload` into an ``xarray.Dataset``
(layout ``qpi.dataset/1``) and the dataset into a Qiskit-compatible result document. It is
synchronous, asyncio-free and built inside a driver worker process from its kind (or
``package.module:Class``) and options; an instance is never pickled.

Custom executors subclass :class:`Executor`, set ``kind``, optionally an ``Options`` struct,
and implement :meth:`Executor.execute` and :meth:`Executor.device_info`.

Per-job reporting without changing the public signatures: inside ``execute`` an executor wraps
its stages in ``with self.stage("transpile"):`` (also ``"compile"``, ``"execute"``,
``"process"``) and calls ``self.warn("...")`` for result warnings. The worker resets both before
each job (:meth:`Executor.begin_job`) and reads them afterwards (:meth:`Executor.job_report`) to
fill ``JobTimings`` and ``JobResult.warnings``.

Paths in options: a worker runs in ``<data_dir>/workers/<n>/``, so a relative path given on the
command line must be resolved with :func:`resolve_path`, against the directory the driver was
started in (:func:`launch_dir`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import msgspec
import msgspec.inspect

from qpi.errors import ConfigError
from qpi.protocol.payload import DeviceInfo, JobPayload

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "STAGES",
    "CommonOptions",
    "Executor",
    "JobReport",
    "NoOptions",
    "Stage",
    "StageTimer",
    "launch_dir",
    "parse_options",
    "resolve_path",
    "set_launch_dir",
]

logger = logging.getLogger(__name__)

OptionsT = TypeVar("OptionsT", bound=msgspec.Struct)


class NoOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Options struct of an executor that takes no options."""


class CommonOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Options every built-in executor accepts (``executors.md`` E-3.1).

    ``workers`` is set by the driver from ``--workers`` (the worker passes it to every executor
    whose options struct has that field); executors use it for defaults such as Aer's threads.
    """

    max_shots: int = 100_000
    max_circuits: int = 300
    save_datasets: bool = False
    workers: int = 1


def parse_options(struct: type[OptionsT], raw: Mapping[str, Any], *, executor: str) -> OptionsT:
    """Validate ``-o key=value`` options into ``struct``.

    Strings are coerced (``"3"`` → 3, ``"yes"`` → True). An unknown key or a bad value raises
    :class:`ConfigError` naming the key and listing the valid ones.
    """
    valid = sorted(struct.__struct_fields__)
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        listing = ", ".join(valid) if valid else "(none)"
        raise ConfigError(
            f"unknown option {', '.join(repr(k) for k in unknown)} for executor {executor!r}; valid options: {listing}"
        )
    normalised = {k: _coerce_bool_words(v) for k, v in raw.items()}
    try:
        return msgspec.convert(normalised, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_invalid_value_message(struct, executor, str(exc))) from exc


def _invalid_value_message(struct: type[msgspec.Struct], executor: str, error: str) -> str:
    """``invalid value for option 'key' of executor 'x': <why>; valid values: …`` (for Literals)."""
    match = re.search(r" - at `\$\.(\w+)`", error)
    if match is None:
        return f"invalid option for executor {executor!r}: {error}"
    key = match.group(1)
    message = f"invalid value for option {key!r} of executor {executor!r}: {error[: match.start()]}"
    info = msgspec.inspect.type_info(struct)
    if isinstance(info, msgspec.inspect.StructType):
        for field_info in info.fields:
            choices = _literal_choices(field_info.type) if field_info.name == key else None
            if choices:
                message += f"; valid values: {', '.join(str(c) for c in choices)}"
    return message


def _literal_choices(kind: msgspec.inspect.Type) -> list[Any] | None:
    if isinstance(kind, msgspec.inspect.LiteralType):
        return list(kind.values)
    if isinstance(kind, msgspec.inspect.UnionType):
        for member in kind.types:
            if isinstance(member, msgspec.inspect.LiteralType):
                return list(member.values)
    return None


def _coerce_bool_words(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in {"yes", "on"}:
        return "true"
    if isinstance(value, str) and value.lower() in {"no", "off"}:
        return "false"
    return value


_launch_dir: Path | None = None


def launch_dir() -> Path:
    """The directory the driver was started in (the worker's own directory outside a driver)."""
    return _launch_dir if _launch_dir is not None else Path.cwd()


def set_launch_dir(path: Path | None) -> None:
    """Record where the driver was started (called by the worker before it changes directory)."""
    global _launch_dir
    _launch_dir = None if path is None else Path(path).resolve()


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute against :func:`launch_dir` (``~`` expanded)."""
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else launch_dir() / expanded


Stage = Literal["transpile", "compile", "execute", "process"]
STAGES: tuple[Stage, ...] = ("transpile", "compile", "execute", "process")


class StageTimer:
    """Wall time spent per stage of one job, summed over experiments."""

    def __init__(self) -> None:
        self._totals: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: Stage) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._totals[stage] = self._totals.get(stage, 0.0) + time.perf_counter() - start

    def add(self, stage: Stage, seconds: float) -> None:
        self._totals[stage] = self._totals.get(stage, 0.0) + seconds

    def get(self, stage: Stage) -> float | None:
        """Seconds recorded for ``stage``, or None when the executor never reported it."""
        return self._totals.get(stage)

    def reset(self) -> None:
        self._totals.clear()


@dataclass(frozen=True)
class JobReport:
    """What an executor reported about one job besides its result."""

    stages: dict[str, float]
    warnings: tuple[str, ...]


class Executor(ABC):
    """Base class of every executor.

    Subclasses set ``kind`` and ``Options`` (a frozen ``msgspec.Struct``); the constructor
    validates ``**options`` into ``self.options`` and raises :class:`ConfigError` on an unknown
    key or a bad value, which makes the driver exit 2 before connecting.
    """

    kind: ClassVar[str] = "custom"
    Options: ClassVar[type[msgspec.Struct]] = NoOptions

    def __init__(self, *, name: str, data_dir: Path, **options: Any) -> None:
        self.name = name
        self.data_dir = Path(data_dir)
        self.options: Any = parse_options(self.Options, options, executor=self.kind)

    # --- per-job reporting (used by the worker; see the module docstring) -------------------

    @property
    def timer(self) -> StageTimer:
        """Stage times of the current job (created on first use)."""
        timer = self.__dict__.get("_timer")
        if timer is None:
            timer = self.__dict__["_timer"] = StageTimer()
        return timer

    @property
    def _job_warnings(self) -> list[str]:
        return self.__dict__.setdefault("_warnings", [])  # type: ignore[no-any-return]

    def stage(self, stage: Stage) -> AbstractContextManager[None]:
        """Context manager timing one stage of the current job: ``with self.stage("transpile"):``."""
        return self.timer(stage)

    def warn(self, message: str) -> None:
        """Add a warning to the current job's result (``JobResult.warnings``)."""
        logger.debug("%s executor %s: result warning: %s", self.kind, self.name, message)
        self._job_warnings.append(message)

    def begin_job(self) -> None:
        """Forget the stage times and warnings of the previous job."""
        self.timer.reset()
        self._job_warnings.clear()

    def job_report(self) -> JobReport:
        """Stage times and warnings recorded since :meth:`begin_job`."""
        stages = {name: self.timer.get(name) for name in STAGES}
        return JobReport(
            stages={name: seconds for name, seconds in stages.items() if seconds is not None},
            warnings=tuple(self._job_warnings),
        )

    @abstractmethod
    def execute(self, payload: JobPayload) -> xr.Dataset:
        """Run every experiment of ``payload``; return the ``qpi.dataset/1`` dataset."""

    def process_result(self, dataset: xr.Dataset, job_id: str) -> dict[str, Any]:
        """Build the result document (``executors.md`` §2.3) from ``dataset``.

        The shared implementation handles every layout of §2.1; executors rarely override it.
        """
        from qpi.driver.executors.results import dataset_to_result

        return dataset_to_result(dataset, job_id=job_id, backend_name=self.kind)

    @abstractmethod
    def device_info(self) -> DeviceInfo:
        """Describe the target (``executors.md`` §5)."""

    def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Import heavy libraries and run a tiny job, so the first user job pays no start-up cost."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release instruments. Errors are logged, never raised."""
