"""The result outbox (P-5.7): every ``JobResult`` is on disk before it is sent, until its ``ResultAck``.

One file per attempt, ``<job_id>.<attempt>.msgpack``, written atomically (temporary file, then
rename). A restarted driver re-sends what it finds; results are never dropped.

The file is not fsynced: it survives a crash of the driver process (the page cache belongs to the
kernel), which is what the outbox is for; an operating-system crash may lose the newest results,
and the server then resolves those attempts as a driver loss (``scheduling.md`` §4.3). An fsync per
result would block the driver's event loop for milliseconds on every job.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from qpi.protocol.messages import JobRef

__all__ = ["Outbox"]

_NAME = re.compile(r"^(?P<job>[A-Za-z0-9_-]+)\.(?P<attempt>\d+)\.msgpack$")
MAX_ENTRIES = 10_000
MAX_BYTES = 1 << 30


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, job_id: str, attempt: int) -> Path:
        return self.dir / f"{job_id}.{attempt}.msgpack"

    def put(self, job_id: str, attempt: int, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self._path(job_id, attempt))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def remove(self, job_id: str, attempt: int) -> None:
        self._path(job_id, attempt).unlink(missing_ok=True)

    def refs(self) -> list[JobRef]:
        out = []
        for entry in sorted(self.dir.iterdir()):
            match = _NAME.match(entry.name)
            if match:
                out.append(JobRef(job_id=match["job"], attempt=int(match["attempt"])))
        return out

    def items(self) -> list[tuple[JobRef, bytes]]:
        out = []
        for ref in self.refs():
            try:
                out.append((ref, self._path(ref.job_id, ref.attempt).read_bytes()))
            except FileNotFoundError:
                continue
        return out

    def __len__(self) -> int:
        return len(self.refs())

    def full(self) -> bool:
        """Past 10 000 entries or 1 GiB the driver takes no new jobs until it shrinks (P-5.7)."""
        entries = [e for e in self.dir.iterdir() if _NAME.match(e.name)]
        return len(entries) >= MAX_ENTRIES or sum(e.stat().st_size for e in entries) >= MAX_BYTES
