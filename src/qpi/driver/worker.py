"""The driver's worker process (``executors.md`` §1.3, §1.4; started by :mod:`qpi.driver.pool`).

:func:`worker_main` is the process target. It ignores SIGINT (the daemon owns shutdown) and turns
SIGTERM into ``SystemExit`` so ``close()`` still runs; forwards its log records to the parent;
changes into ``<data_dir>/workers/<n>/``; builds the executor from ``(kind or module:Class,
options)``, warms it up and reports ``Ready`` (or ``InitFailed``); then runs one job at a time.

A reader thread drains the pipe into an inbox, so the parent can queue the next job (prefetch)
and cancel it before it starts, while the main thread runs the current one. When the pipe
closes (the driver died) the worker stops its job and exits.

Importing this module is light (the parent imports it to name the target); the executor, qiskit
and xarray are imported inside the process.
"""

from __future__ import annotations

import _thread
import logging
import os
import platform
import queue
import re
import secrets
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import msgspec

from qpi.driver import worker_messages as wm
from qpi.errors import ConfigError, ExecutionError, QPIError
from qpi.protocol.messages import JobError, JobResultBody, JobTimings, utcnow
from qpi.protocol.payload import JobPayload

if TYPE_CHECKING:
    from qpi.driver.executors.base import Executor

__all__ = ["DRIVER_ERROR_CODES", "job_error", "worker_main"]

logger = logging.getLogger(__name__)

#: the job error codes a driver may set (driver-protocol.md §3.4)
DRIVER_ERROR_CODES = frozenset(
    {
        "invalid_payload",
        "qasm_parse_error",
        "unsupported_gate",
        "unsupported_feature",
        "too_many_qubits",
        "coupling_violation",
        "calibration_missing",
        "no_measurements",
        "executor_error",
        "invalid_result",
        "result_too_large",
        "timeout",
        "worker_crashed",
        "executor_unavailable",
        "driver_shutdown",
    }
)
_MAX_MESSAGE = 4000
# INFO chatter per pass / per instrument parameter on every job; all of it is back at --log-level debug
_NOISY_LIBRARIES = (
    "qiskit",
    "qiskit_aer",
    "stevedore",
    "quantify_scheduler",
    "quantify_core",
    "qblox_scheduler",
    "qblox_instruments",
    "qcodes",
)
_EXIT_GRACE_S = 10.0


class _Channel:
    """The worker's end of the pipe; sends are serialised (progress and logs come from any thread)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, message: Any) -> None:
        data = wm.encode(message)
        with self._lock:
            self.conn.send_bytes(data)


class _PipeLogHandler(logging.Handler):
    def __init__(self, channel: _Channel, index: int) -> None:
        super().__init__()
        self.channel = channel
        self.prefix = f"[worker {index}] "
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_text = record.exc_text
            if record.exc_info and not exc_text:
                exc_text = self._formatter.formatException(record.exc_info)
            self.channel.send(
                wm.LogLine(
                    name=record.name,
                    level=record.levelno,
                    message=self.prefix + record.getMessage(),
                    created=record.created,
                    exc_text=exc_text,
                )
            )
        except Exception:
            self.handleError(record)


class _Inbox:
    """Reads the pipe in a thread: jobs and Stop go to a queue, cancels to a set."""

    _EOF = object()

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue: queue.Queue[Any] = queue.Queue()
        self._cancelled: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.busy = False
        self.thread = threading.Thread(target=self._read, name="qpi-worker-inbox", daemon=True)

    def _read(self) -> None:
        while True:
            try:
                message = wm.decode_to_worker(self.conn.recv_bytes())
            except (EOFError, OSError):
                self.queue.put(self._EOF)
                if self.busy:  # the driver is gone: stop the job rather than finish it for nobody
                    _thread.interrupt_main(signal.SIGTERM)
                    deadline = threading.Timer(_EXIT_GRACE_S, os._exit, args=(1,))
                    deadline.daemon = True
                    deadline.start()
                return
            except msgspec.DecodeError:
                logger.exception("undecodable message from the driver; ignored")
                continue
            if isinstance(message, wm.CancelQueued):
                with self._lock:
                    self._cancelled.add((message.job_id, message.attempt))
            else:
                self.queue.put(message)

    def take_cancelled(self, job_id: str, attempt: int) -> bool:
        with self._lock:
            if (job_id, attempt) in self._cancelled:
                self._cancelled.discard((job_id, attempt))
                return True
            return False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def worker_main(conn: Connection, spec: wm.WorkerSpec) -> None:
    """Process target: init the executor, then run jobs until Stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    channel = _Channel(conn)
    _set_up_logging(channel, spec)
    _set_up_paths(spec)
    executor = _init_executor(channel, spec)
    if executor is None:
        conn.close()
        return
    inbox = _Inbox(conn)
    inbox.thread.start()
    try:
        while True:
            message = inbox.queue.get()
            if message is _Inbox._EOF or isinstance(message, wm.Stop):
                break
            if inbox.take_cancelled(message.job_id, message.attempt):
                channel.send(wm.Dropped(job_id=message.job_id, attempt=message.attempt))
                continue
            inbox.busy = True
            try:
                _run_job(executor, message, channel, spec)
            finally:
                inbox.busy = False
    finally:
        try:
            executor.close()
        except Exception:
            logger.exception("executor close() failed")


def _set_up_logging(channel: _Channel, spec: wm.WorkerSpec) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_PipeLogHandler(channel, spec.index))
    root.setLevel(spec.log_level)
    if spec.log_level > logging.DEBUG:
        for noisy in _NOISY_LIBRARIES:
            logging.getLogger(noisy).setLevel(max(spec.log_level, logging.WARNING))
    logging.captureWarnings(True)


def _set_up_paths(spec: wm.WorkerSpec) -> None:
    from qpi.driver.executors.base import set_launch_dir

    sys.path[:] = [*spec.python_path, *(p if p not in ("", ".") else spec.launch_dir for p in sys.path)]
    set_launch_dir(Path(spec.launch_dir))
    workdir = Path(spec.data_dir) / "workers" / str(spec.index)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)


def _init_executor(channel: _Channel, spec: wm.WorkerSpec) -> Executor | None:
    from qpi import __version__
    from qpi.driver.executors.registry import resolve_executor

    started = time.monotonic()
    try:
        cls = resolve_executor(spec.executor)
        options = dict(spec.options)
        if "workers" in getattr(cls.Options, "__struct_fields__", ()):
            options["workers"] = spec.workers_total
        executor = cls(name=spec.name, data_dir=Path(spec.data_dir), **options)
        executor.warm_up()
        info = executor.device_info()
    except ConfigError as exc:
        logger.error("executor %s: %s", spec.executor, exc)
        channel.send(wm.InitFailed(message=str(exc), config_error=True))
        return None
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        logger.exception("executor %s failed to start: %s", spec.executor, message)
        channel.send(wm.InitFailed(message=message[:_MAX_MESSAGE], config_error=False))
        return None
    versions = {"qpi": __version__, "python": platform.python_version(), **info.versions}
    logger.info("executor %s ready in %.2f s (pid %s)", spec.executor, time.monotonic() - started, os.getpid())
    channel.send(wm.Ready(device_info=info, versions=versions))
    return executor


def job_error(exc: BaseException, job_id: str, attempt: int) -> JobError:
    """Map an exception raised while running a job to its ``JobError`` (``executors.md`` §1.4)."""
    code = exc.code if isinstance(exc, QPIError) and exc.code in DRIVER_ERROR_CODES else "executor_error"
    if code == "executor_error" and not (isinstance(exc, ExecutionError) and type(exc) is ExecutionError):
        message = f"{type(exc).__name__}: {exc}"
    else:
        message = exc.message if isinstance(exc, QPIError) else str(exc)
    log_ref = None
    if code == "executor_error":
        log_ref = "log_" + secrets.token_hex(6)
        logger.error("job %s attempt %s failed (log_ref %s): %s", job_id, attempt, log_ref, message, exc_info=exc)
    else:
        logger.info("job %s attempt %s failed: %s: %s", job_id, attempt, code, message)
    return JobError(
        code=code,
        message=message[:_MAX_MESSAGE],
        retryable=False,
        circuit_index=getattr(exc, "circuit_index", None),
        line=getattr(exc, "line", None),
        column=getattr(exc, "column", None),
        log_ref=log_ref,
    )


def _run_job(executor: Executor, job: wm.RunJob, channel: _Channel, spec: wm.WorkerSpec) -> None:
    from qpi.driver.executors.results import result_date, to_result_doc
    from qpi.driver.progress import install_sink

    start = time.monotonic()
    started_at = utcnow()
    channel.send(wm.Started(job_id=job.job_id, attempt=job.attempt, started_at=started_at))
    logger.info("job %s attempt %s started", job.job_id, job.attempt)

    def sink(fraction: float | None, stage: str, message: str | None) -> None:
        channel.send(
            wm.Progress(job_id=job.job_id, attempt=job.attempt, stage=stage, fraction=fraction, message=message)
        )

    warnings: list[str] = []
    result = error = None
    execute_wall = process_wall = 0.0
    executor.begin_job()
    if hasattr(executor, "job_timeout_s"):  # hardware executors bound their acquisition wait by it
        executor.job_timeout_s = job.timeout_s
    install_sink(sink)
    try:
        try:
            payload = msgspec.msgpack.decode(job.payload, type=JobPayload)
        except msgspec.ValidationError as exc:
            where = re.search(r"\$\.circuits\[(\d+)\]", str(exc))
            raise ExecutionError(
                f"invalid job payload: {exc}",
                code="invalid_payload",
                circuit_index=int(where.group(1)) if where else None,
            ) from exc
        payload = msgspec.structs.replace(payload, id=job.job_id)
        mark = time.perf_counter()
        dataset = executor.execute(payload)
        execute_wall = time.perf_counter() - mark
        if getattr(getattr(executor, "options", None), "save_datasets", False):
            _save_dataset(executor, dataset, job, warnings)
        mark = time.perf_counter()
        document = executor.process_result(dataset, job.job_id)
        result = to_result_doc(document, job.job_id, backend_name=executor.kind, warnings=warnings)
        process_wall = time.perf_counter() - mark
    except Exception as exc:
        error = job_error(exc, job.job_id, job.attempt)
    finally:
        install_sink(None)
    report = executor.job_report()
    finished_at = utcnow()
    billable = time.monotonic() - start
    stages = report.stages
    transpile, compile_ = stages.get("transpile", 0.0), stages.get("compile", 0.0)
    timings = JobTimings(
        started_at=started_at,
        finished_at=finished_at,
        transpile_s=transpile,
        compile_s=compile_,
        execute_s=stages.get("execute", max(0.0, execute_wall - transpile - compile_)),
        process_s=stages.get("process", 0.0) + process_wall,
        total_s=billable,
        billable_s=billable,
    )
    if result is not None:
        result = msgspec.structs.replace(result, date=result_date(finished_at))
    body = JobResultBody(
        job_id=job.job_id,
        attempt=job.attempt,
        status="completed" if error is None else "failed",
        timings=timings,
        result=result,
        error=error,
        warnings=[*report.warnings, *warnings],
    )
    logger.info("job %s attempt %s %s in %.3f s", job.job_id, job.attempt, body.status, billable)
    for warning in body.warnings:
        logger.warning("job %s attempt %s: %s", job.job_id, job.attempt, warning)
    channel.send(wm.Finished(body=body))


def _save_dataset(executor: Executor, dataset: Any, job: wm.RunJob, warnings: list[str]) -> None:
    from qpi.driver.executors.dataset import write_dataset

    try:
        path = write_dataset(dataset, executor.data_dir / "datasets", job.job_id, job.attempt)
    except Exception as exc:
        logger.warning("job %s: could not save the dataset: %s", job.job_id, exc, exc_info=True)
        warnings.append(f"the dataset could not be saved: {type(exc).__name__}: {exc}")
    else:
        logger.debug("job %s: dataset saved to %s", job.job_id, path)
