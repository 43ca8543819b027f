"""What travels over a worker's pipe, and what a worker is started with.

The pool (driver main process) and each worker process talk over their own duplex
``multiprocessing`` pipe, one msgpack message per ``send_bytes``. Every message is a frozen,
tagged ``msgspec.Struct``; the job payload travels as msgpack bytes of
:class:`~qpi.protocol.payload.JobPayload` so that the worker decodes it strictly and a failure
becomes ``invalid_payload``. This module is light: the parent imports it.

Parent → worker: :class:`RunJob`, :class:`CancelQueued`, :class:`Stop`.
Worker → parent: :class:`Ready` / :class:`InitFailed` (once), then per job :class:`Started`,
:class:`Progress`…, :class:`Finished` (or :class:`Dropped` for a job cancelled before it started),
and :class:`LogLine` at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from qpi.protocol.messages import JobResultBody
from qpi.protocol.payload import DeviceInfo

__all__ = [
    "CancelQueued",
    "Dropped",
    "Finished",
    "InitFailed",
    "LogLine",
    "Progress",
    "Ready",
    "RunJob",
    "Started",
    "Stop",
    "ToParent",
    "ToWorker",
    "WorkerSpec",
    "decode_to_parent",
    "decode_to_worker",
    "encode",
]


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to build its executor (pickled once at process start)."""

    index: int
    executor: str  # a kind, an entry-point name or package.module:Class
    options: dict[str, Any]
    name: str
    data_dir: str  # absolute
    workers_total: int
    launch_dir: str  # where the driver was started; relative option paths resolve here
    python_path: tuple[str, ...] = ()
    log_level: int = 20
    extra: dict[str, Any] = field(default_factory=dict)


class _Msg(msgspec.Struct, frozen=True, omit_defaults=True):
    pass


# --- parent → worker --------------------------------------------------------------------------


class RunJob(_Msg, frozen=True, tag=True):
    job_id: str
    attempt: int
    payload: bytes  # msgpack of JobPayload
    timeout_s: float


class CancelQueued(_Msg, frozen=True, tag=True):
    """Drop this attempt if it has not started yet (it is still in the pipe or the inbox)."""

    job_id: str
    attempt: int


class Stop(_Msg, frozen=True, tag=True):
    """Finish the current job, close the executor and exit."""


# --- worker → parent --------------------------------------------------------------------------


class Ready(_Msg, frozen=True, tag=True):
    device_info: DeviceInfo
    versions: dict[str, str]


class InitFailed(_Msg, frozen=True, tag=True):
    message: str
    config_error: bool


class Started(_Msg, frozen=True, tag=True):
    job_id: str
    attempt: int
    started_at: datetime


class Progress(_Msg, frozen=True, tag=True):
    job_id: str
    attempt: int
    stage: str
    fraction: float | None = None
    message: str | None = None


class Finished(_Msg, frozen=True, tag=True):
    body: JobResultBody


class Dropped(_Msg, frozen=True, tag=True):
    job_id: str
    attempt: int


class LogLine(_Msg, frozen=True, tag=True):
    name: str
    level: int
    message: str
    created: float
    exc_text: str | None = None


ToWorker = RunJob | CancelQueued | Stop
ToParent = Ready | InitFailed | Started | Progress | Finished | Dropped | LogLine

_encoder = msgspec.msgpack.Encoder()
_to_worker = msgspec.msgpack.Decoder(ToWorker)
_to_parent = msgspec.msgpack.Decoder(ToParent)


def encode(message: _Msg) -> bytes:
    return _encoder.encode(message)


def decode_to_worker(data: bytes) -> ToWorker:
    return _to_worker.decode(data)  # type: ignore[no-any-return]


def decode_to_parent(data: bytes) -> ToParent:
    return _to_parent.decode(data)  # type: ignore[no-any-return]
