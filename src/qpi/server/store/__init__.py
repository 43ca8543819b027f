"""The store: the only code that issues database queries (Piccolo engines, SQLite and PostgreSQL).

``async with Store.open(url, names) as store:`` opens the engine, applies migrations and exposes
one object per concept (``store.users``, ``store.jobs``, …). Handlers and loops depend on it; one
contract test suite runs against a temporary SQLite file and a throwaway PostgreSQL database.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from qpi.server.store.bookings import Bookings
from qpi.server.store.credentials import Credentials
from qpi.server.store.drivers import Drivers
from qpi.server.store.engine import Db, IntegrityError, make_engine
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.idempotency import Idempotency, StoredResponse
from qpi.server.store.jobs import CancelOutcome, JobFilter, Jobs, NewJob, legacy_status
from qpi.server.store.ledger import Ledger
from qpi.server.store.migrate import MigrationStatus, migrate, migration_status
from qpi.server.store.names import TableNames
from qpi.server.store.notifications import Notifications
from qpi.server.store.qpus import Qpus, QpuStats
from qpi.server.store.rows import (
    BookingRow,
    DriverRow,
    EventRow,
    JobRow,
    LedgerRow,
    NotificationRow,
    QpuRow,
    SessionRow,
    TimeRequestRow,
    TokenRow,
    UserRow,
)
from qpi.server.store.snapshots import Snapshots
from qpi.server.store.tables import Tables, build_tables
from qpi.server.store.time_requests import TimeRequests
from qpi.server.store.transitions import Transitions
from qpi.server.store.users import Users

__all__ = [
    "BookingRow",
    "CancelOutcome",
    "Db",
    "DriverRow",
    "EventRow",
    "IntegrityError",
    "JobFilter",
    "JobRow",
    "LedgerRow",
    "MigrationStatus",
    "NewEvent",
    "NewJob",
    "NotificationRow",
    "QpuRow",
    "QpuStats",
    "SessionRow",
    "Store",
    "StoredResponse",
    "TableNames",
    "TimeRequestRow",
    "TokenRow",
    "UserRow",
    "legacy_status",
]


class Store:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.names = names
        self.tables: Tables = build_tables(names, db.engine)
        self.events = Events(db, names)
        self.ledger = Ledger(db, names, self.events)
        self.users = Users(db, self.tables, self.ledger)
        self.credentials = Credentials(db, names)
        self.qpus = Qpus(db, names)
        self.drivers = Drivers(db, names)
        self.jobs = Jobs(db, names, self.events)
        self.idempotency = Idempotency(db, names)
        self.snapshots = Snapshots(db, names)
        self.transitions = Transitions(db, names, self.events, self.ledger, self.snapshots)
        self.bookings = Bookings(db, names, self.events)
        self.notifications = Notifications(db, names, self.events)
        self.time_requests = TimeRequests(db, names, self.events, self.ledger, self.notifications)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, url: str, names: TableNames | None = None, *, pool_size: int = 10, auto_migrate: bool = True
    ) -> AsyncIterator[Store]:
        names = names or TableNames()
        dialect, engine = make_engine(url, pool_size=pool_size)
        db = Db(dialect, engine)
        await db.open()
        try:
            await migrate(db, names, apply=auto_migrate)
            yield cls(db, names)
        finally:
            await db.close()

    async def migration_status(self) -> MigrationStatus:
        return await migration_status(self.db)

    async def ping(self) -> None:
        await self.db.fetchval("SELECT 1 AS one")
