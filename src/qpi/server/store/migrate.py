"""Schema migrations: checked-in modules applied in order, on SQLite and PostgreSQL.

Each module of ``qpi.server.store.migrations`` defines ``VERSION``, ``NAME`` and
``statements(dialect, names)``. Applied versions are recorded in ``qpi_migrations``; the table
names chosen at the first migration are recorded in ``qpi_meta`` and a later start with other
names is refused, naming each mismatch (``config.md`` §2.1).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from types import ModuleType

from qpi.errors import ConfigError
from qpi.server.store.engine import Db
from qpi.server.store.migrations import m0001_initial, m0002_pending_age_index
from qpi.server.store.names import TableNames

__all__ = ["MIGRATIONS", "MigrationStatus", "migrate", "migration_status"]

logger = logging.getLogger(__name__)

MIGRATIONS: tuple[ModuleType, ...] = (m0001_initial, m0002_pending_age_index)

_ADVISORY_KEY = 0x51_50_49_00_01  # "QPI" + 1: serialises concurrent migrators on PostgreSQL


@dataclass(frozen=True)
class MigrationStatus:
    applied: tuple[int, ...]
    pending: tuple[int, ...]


async def _ensure_meta(db: Db) -> None:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS qpi_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)"
    )
    await db.execute("CREATE TABLE IF NOT EXISTS qpi_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


async def migration_status(db: Db) -> MigrationStatus:
    await _ensure_meta(db)
    rows = await db.fetch("SELECT version FROM qpi_migrations ORDER BY version")
    applied = tuple(int(r["version"]) for r in rows)
    pending = tuple(m.VERSION for m in MIGRATIONS if m.VERSION not in applied)
    return MigrationStatus(applied=applied, pending=pending)


async def _check_names(db: Db, names: TableNames) -> None:
    stored = await db.fetchval("SELECT value FROM qpi_meta WHERE key = 'table_names'")
    wanted = names.configurable()
    if stored is None:
        await db.execute(
            "INSERT INTO qpi_meta (key, value) VALUES ('table_names', {})", json.dumps(wanted, sort_keys=True)
        )
        return
    recorded: dict[str, str] = json.loads(stored)
    problems = [
        f"table for {key} is {recorded[key]!r} in the database but the configuration says {wanted[key]!r}"
        for key in wanted
        if key in recorded and recorded[key] != wanted[key]
    ]
    if problems:
        raise ConfigError(problems=problems)


async def migrate(db: Db, names: TableNames, *, apply: bool = True) -> MigrationStatus:
    """Apply pending migrations (or, with ``apply=False``, refuse to continue when some are pending)."""
    await _ensure_meta(db)
    async with db.transaction():
        if db.dialect == "postgres":
            await db.execute("SELECT pg_advisory_xact_lock({})", _ADVISORY_KEY)
        await _check_names(db, names)
        status = await migration_status(db)
        if status.pending and not apply:
            raise ConfigError(
                f"the database needs {len(status.pending)} migration(s) and --auto-migrate is off; "
                "run `qpi db migrate` first"
            )
        for module in MIGRATIONS:
            if module.VERSION not in status.pending:
                continue
            logger.info("applying migration %04d_%s", module.VERSION, module.NAME)
            for statement in module.statements(db.dialect, names):
                await db.execute(statement)
            await db.execute(
                "INSERT INTO qpi_migrations (version, name, applied_at) VALUES ({}, {}, {})",
                module.VERSION,
                module.NAME,
                int(time.time() * 1_000_000),
            )
    return await migration_status(db)
