"""Qblox clusters, dummy or real, and the noise of the Qblox stacks (``executors.md`` §3.3).

Dummy mode: ``Cluster(name, dummy_cfg={slot: ClusterType.CLUSTER_<TYPE>})`` for each cluster of
``hardware_description``; off dummy mode ``Cluster(name, identifier=ip)``. The dummy transport
writes ``tmp.q1asm`` / ``tmp.hex`` into the working directory, which is why each driver worker
runs in its own directory. QCoDeS instrument names are process-wide, so an instrument left over
under the same name (by an executor that was not closed) is closed first.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from qpi.driver.executors.hardware.hardware_config import ClusterInfo
from qpi.errors import ExecutionError

__all__ = ["close_cluster", "close_instrument", "create_cluster", "quiet_libraries"]

logger = logging.getLogger(__name__)

_NOISY_MODULES = r"(quantify_core|quantify_scheduler|qblox_scheduler|qblox_instruments|qcodes)(\..*)?"


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence the deprecation notices and dummy-cluster warnings the Qblox stacks emit.

    quantify-core warns at import that it reached end of life, and qblox-scheduler warns each time
    it creates a dummy cluster; both are expected here and would fail a test run with
    ``filterwarnings = error``.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=_NOISY_MODULES)
        warnings.filterwarnings("ignore", category=FutureWarning, module=_NOISY_MODULES)
        warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=_NOISY_MODULES)
        warnings.filterwarnings("ignore", message=r".*[Dd]ummy cluster.*", category=UserWarning)
        yield


def close_instrument(name: str, *, leftover: bool = True) -> None:
    """Close the QCoDeS instrument called ``name`` if one exists (never raises).

    ``leftover=True`` (before creating an instrument of that name) logs that one was still open.
    """
    from qcodes.instrument import Instrument

    try:
        if Instrument.exist(name):
            if leftover:
                logger.warning("closing a leftover instrument named %s", name)
            Instrument.find_instrument(name).close()
    except Exception:  # best effort: a broken instrument must not stop the executor
        logger.warning("could not close the instrument %s", name, exc_info=True)


_MAX_SLOTS = 20  # slots of a Qblox cluster


def close_cluster(name: str, *, leftover: bool = True) -> None:
    """Close a cluster and the instrument-coordinator components made for it and its modules.

    Both libraries name them ``ic_<cluster>`` and ``ic_<cluster>_module<slot>``.
    """
    for slot in range(1, _MAX_SLOTS + 1):
        close_instrument(f"ic_{name}_module{slot}", leftover=leftover)
    close_instrument(f"ic_{name}", leftover=leftover)
    close_instrument(name, leftover=leftover)


def create_cluster(info: ClusterInfo, *, is_dummy: bool) -> Any:
    """A ``qblox_instruments.Cluster`` for ``info``: dummy modules, or a connection to its ip."""
    from qblox_instruments import Cluster, ClusterType

    close_cluster(info.name)
    if is_dummy:
        dummy_cfg = {slot: getattr(ClusterType, f"CLUSTER_{kind}") for slot, kind in info.modules.items()}
        return Cluster(info.name, dummy_cfg=dummy_cfg)
    try:
        return Cluster(info.name, identifier=info.ip)
    except Exception as exc:
        raise ExecutionError(f"cannot connect to cluster {info.name} at {info.ip}: {exc}") from exc
