"""Test-only executors, loaded by the pool's workers as ``helpers_executors:<Class>``.

The tests put this directory on the workers' import path (``WorkerPool(python_path=...)``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from qpi.driver.executors.mock import MockExecutor
from qpi.driver.progress import report_progress
from qpi.protocol.payload import JobPayload


class ScriptedExecutor(MockExecutor):
    """The mock executor, except that a job's ``options["act"]`` makes it misbehave first."""

    kind = "scripted"

    def execute(self, payload: JobPayload) -> Any:
        act = payload.options.get("act")
        if act == "sleep":
            time.sleep(float(payload.options["seconds"]))
        elif act == "hang":
            while True:
                time.sleep(0.05)
        elif act == "stubborn":  # ignores SIGTERM: only SIGKILL ends it
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            while True:
                time.sleep(0.05)
        elif act == "exit":
            os._exit(int(payload.options.get("code", 3)))
        elif act == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif act == "raise":
            raise RuntimeError("boom")
        elif act == "progress":
            report_progress(0.5, "compiling", "half way")
        elif act == "modules":
            loaded = [name for name in ("pynng", "qiskit") if name in sys.modules]
            self.warn(f"modules loaded: {','.join(loaded)}; cwd: {Path.cwd()}")
        return super().execute(msgspec.structs.replace(payload, options={}))


class FlakyInitExecutor(MockExecutor):
    """Fails its first init (as an unreachable instrument would), then works."""

    kind = "flaky"

    def __init__(self, *, name: str, data_dir: Path, **options: Any) -> None:
        marker = Path(data_dir) / "flaky-init-failed-once"
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("instrument unreachable")
        super().__init__(name=name, data_dir=data_dir, **options)
