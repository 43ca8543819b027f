"""Which class runs a given ``--executor`` (``executors.md`` E-1.3, E-3.2).

Three ways to name an executor, tried in this order:

1. a built-in kind: ``mock``, ``qiskit_aer``, ``quantify``, ``qblox``, ``presto``;
2. a name registered in the entry-point group ``qpi.executors``
   (``[project.entry-points."qpi.executors"] mine = "mypkg.module:MyExecutor"``);
3. ``package.module:Class``.

Nothing is imported until :func:`resolve_executor` is called, and that happens inside a worker
process: the driver's main process never imports qiskit or the Qblox stacks. Every failure is a
:class:`~qpi.errors.ConfigError` (the driver exits 2 before connecting): an unknown name lists
the known ones, a missing optional library gives the install hint.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from qpi.errors import ConfigError

if TYPE_CHECKING:
    from qpi.driver.executors.base import Executor

__all__ = [
    "BUILTIN_EXECUTORS",
    "ENTRY_POINT_GROUP",
    "BuiltinExecutor",
    "is_simulator_kind",
    "known_executor_names",
    "resolve_executor",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "qpi.executors"


@dataclass(frozen=True)
class BuiltinExecutor:
    """A built-in kind: where its class lives, which extra installs it, whether it simulates."""

    path: str
    extra: str | None
    simulator: bool
    #: top-level modules of the optional libraries behind ``extra``
    libraries: tuple[str, ...] = ()


BUILTIN_EXECUTORS: dict[str, BuiltinExecutor] = {
    "mock": BuiltinExecutor("qpi.driver.executors.mock:MockExecutor", None, simulator=True),
    "qiskit_aer": BuiltinExecutor(
        "qpi.driver.executors.aer:AerExecutor", "aer", simulator=True, libraries=("qiskit_aer",)
    ),
    "quantify": BuiltinExecutor(
        "qpi.driver.executors.quantify:QuantifyExecutor",
        "quantify",
        simulator=False,
        libraries=("quantify_scheduler", "quantify_core", "qblox_instruments"),
    ),
    "qblox": BuiltinExecutor(
        "qpi.driver.executors.qblox:QbloxExecutor",
        "qblox",
        simulator=False,
        libraries=("qblox_scheduler", "qblox_instruments"),
    ),
    "presto": BuiltinExecutor("qpi.driver.executors.presto:PrestoExecutor", None, simulator=False),
}


def is_simulator_kind(kind: str) -> bool:
    """True for the simulator kinds (``mock``, ``qiskit_aer``): prefetch, ``on_driver_loss=requeue``."""
    builtin = BUILTIN_EXECUTORS.get(kind)
    return builtin is not None and builtin.simulator


def known_executor_names() -> list[str]:
    """Built-in kinds, then the names registered under the ``qpi.executors`` entry points."""
    names = list(BUILTIN_EXECUTORS)
    names += sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - set(names))
    return names


def resolve_executor(name: str) -> type[Executor]:
    """The executor class for ``name``; raises ConfigError (exit 2) when it cannot be loaded."""
    builtin = BUILTIN_EXECUTORS.get(name)
    if builtin is not None:
        return _load(builtin.path, name=name, builtin=builtin)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _load(ep.value, name=name, builtin=None)
    if ":" in name:
        return _load(name, name=name, builtin=None)
    raise ConfigError(
        f"unknown executor {name!r}; known executors: {', '.join(known_executor_names())}, "
        "or package.module:Class for a custom executor"
    )


def _load(path: str, *, name: str, builtin: BuiltinExecutor | None) -> type[Executor]:
    from qpi.driver.executors.base import Executor

    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"executor {name!r}: {path!r} is not of the form package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if builtin is not None and builtin.extra and (missing in builtin.libraries or missing == ""):
            raise ConfigError(
                f"the {name} executor needs optional libraries that are not installed "
                f"({exc.name}); install them with: pip install 'qpi[{builtin.extra}]'"
            ) from exc
        raise ConfigError(f"executor {name!r}: cannot import module {module_name!r}: {exc}") from exc
    except ImportError as exc:
        hint = f"; install them with: pip install 'qpi[{builtin.extra}]'" if builtin and builtin.extra else ""
        raise ConfigError(f"executor {name!r}: importing {module_name!r} failed: {exc}{hint}") from exc
    cls = module
    for part in attribute.split("."):
        cls = getattr(cls, part, None)  # type: ignore[assignment]
        if cls is None:
            raise ConfigError(f"executor {name!r}: module {module_name!r} has no attribute {attribute!r}")
    if not (isinstance(cls, type) and issubclass(cls, Executor)):
        raise ConfigError(f"executor {name!r}: {path} is not a subclass of qpi.driver.executors.Executor")
    logger.debug("executor %s resolved to %s", name, path)
    return cls
