"""The public ``Executor`` base class (``executors.md`` §1.1).

An executor turns a :class:`~qpi.protocol.payload.JobPayload` into an ``xarray.Dataset``
(layout ``qpi.dataset/1``) and the dataset into a Qiskit-compatible result document. It is
synchronous, asyncio-free and built inside a driver worker process from its kind (or
``package.module:Class``) and options; an instance is never pickled.

Custom executors subclass :class:`Executor`, set ``kind``, optionally an ``Options`` struct,
and implement :meth:`Executor.execute` and :meth:`Executor.device_info`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec

from qpi.errors import ConfigError
from qpi.protocol.payload import DeviceInfo, JobPayload

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["CommonOptions", "Executor", "NoOptions", "parse_options"]

logger = logging.getLogger(__name__)

O = TypeVar("O", bound=msgspec.Struct)


class NoOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Options struct of an executor that takes no options."""


class CommonOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Options every built-in executor accepts (``executors.md`` E-3.1)."""

    max_shots: int = 100_000
    max_circuits: int = 300
    save_datasets: bool = False


def parse_options(struct: type[O], raw: Mapping[str, Any], *, executor: str) -> O:
    """Validate ``-o key=value`` options into ``struct``.

    Strings are coerced (``"3"`` → 3, ``"yes"`` → True). An unknown key or a bad value raises
    :class:`ConfigError` naming the key and listing the valid ones.
    """
    valid = sorted(struct.__struct_fields__)
    unknown = sorted(set(raw) - set(valid))
    if unknown:
        listing = ", ".join(valid) if valid else "(none)"
        raise ConfigError(
            f"unknown option {', '.join(repr(k) for k in unknown)} for executor {executor!r}; "
            f"valid options: {listing}"
        )
    normalised = {k: _coerce_bool_words(v) for k, v in raw.items()}
    try:
        return msgspec.convert(normalised, struct, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid option for executor {executor!r}: {exc}") from exc


def _coerce_bool_words(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in {"yes", "on"}:
        return "true"
    if isinstance(value, str) and value.lower() in {"no", "off"}:
        return "false"
    return value


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
