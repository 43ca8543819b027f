"""0002: pending jobs by age, for the recovery sweep.

The sweep asks for the oldest pending job (its next queue-TTL wake-up) and for pending jobs older
than the TTL cutoff. Without this index both walked every pending row: with 100,000 queued jobs
that cost ~15 ms per sweep on SQLite and held up every other read behind it. A partial index keeps
only pending rows, so it costs nothing once a job leaves the queue. ``state`` is not a key column:
PostgreSQL drops the implied ``state = 'pending'`` from the index condition, and a leading
``state`` would then turn the ``submitted_at`` range into a walk of the whole index. SQLite is
told to use it (``Db.use_index``).
"""

from __future__ import annotations

from qpi.server.store.names import TableNames

VERSION = 2
NAME = "pending_age_index"


def statements(dialect: str, n: TableNames) -> list[str]:
    return [f"CREATE INDEX {n.jobs}_pending_age_idx ON {n.jobs}(submitted_at) WHERE state = 'pending'"]
