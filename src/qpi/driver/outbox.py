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
from pathlib import Path

from qpi.protocol.messages import JobRef

__all__ = ["Outbox"]

_NAME = re.compile(r"^(?P<job>[A-Za-z0-9_-]+)\.(?P<attempt>\d+)\.msgpack$")
MAX_ENTRIES = 10_000
MAX_BYTES = 1 << 30


class Outbox:
    """The directory, and an index of its entries kept in memory (sizes by attempt).

    The driver is the only writer of its outbox, so the index is read from the directory once, at
    start, and then follows ``put`` and ``remove``: checking ``full()`` on every dispatch costs
    nothing, however many results are waiting (it listed and stat-ed the directory before).
    """

    def __init__(self, directory: Path, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.dir = directory
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._sizes: dict[tuple[str, int], int] = {}
        self._bytes = 0
        for entry in self.dir.iterdir():
            match = _NAME.match(entry.name)
            if match:
                self._index(match["job"], int(match["attempt"]), entry.stat().st_size)
            elif entry.name.startswith(".tmp-"):
                entry.unlink(missing_ok=True)  # a put cut short by a crash: never renamed, never sent

    def _path(self, job_id: str, attempt: int) -> Path:
        return self.dir / f"{job_id}.{attempt}.msgpack"

    def _index(self, job_id: str, attempt: int, size: int) -> None:
        self._bytes += size - self._sizes.get((job_id, attempt), 0)
        self._sizes[(job_id, attempt)] = size

    def put(self, job_id: str, attempt: int, data: bytes) -> None:
        # One attempt has one result and the driver writes it once, so the temporary name is fixed.
        tmp = self.dir / f".tmp-{job_id}.{attempt}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self._path(job_id, attempt))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._index(job_id, attempt, len(data))

    def remove(self, job_id: str, attempt: int) -> None:
        self._path(job_id, attempt).unlink(missing_ok=True)
        self._bytes -= self._sizes.pop((job_id, attempt), 0)

    def refs(self) -> list[JobRef]:
        return [JobRef(job_id=job, attempt=attempt) for job, attempt in sorted(self._sizes)]

    def items(self) -> list[tuple[JobRef, bytes]]:
        out = []
        for ref in self.refs():
            try:
                out.append((ref, self._path(ref.job_id, ref.attempt).read_bytes()))
            except FileNotFoundError:  # deleted behind the driver's back: forget it too
                self._bytes -= self._sizes.pop((ref.job_id, ref.attempt), 0)
        return out

    def __len__(self) -> int:
        return len(self._sizes)

    def full(self) -> bool:
        """Past 10 000 entries or 1 GiB the driver takes no new jobs until it shrinks (P-5.7)."""
        return len(self._sizes) >= self.max_entries or self._bytes >= self.max_bytes
