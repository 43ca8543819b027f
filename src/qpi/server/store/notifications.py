"""Notifications (``scheduling.md`` §9): targets and dismissals are per-user relations.

A notification with no target rows is a broadcast. Visibility for user u at ``now`` (N1): (broadcast
or u is a target) and (``start_time`` null or ≤ now) and (``end_time`` null or ≥ now) and no
dismissal row (n, u). Dismissal is an insert-or-ignore of (n, u) (C7), so one user's dismissal never
touches another's.

Events (``api.md`` §2.11) go to the notification's audience: one ``public`` event for a broadcast,
one ``owner`` event per target user otherwise (the events table has one subject user per row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from qpi.errors import BadRequestError, NotFoundError
from qpi.server.store.common import new_id
from qpi.server.store.engine import Db
from qpi.server.store.events import Events, NewEvent
from qpi.server.store.names import TableNames
from qpi.server.store.rows import EventRow

__all__ = ["NotificationChange", "NotificationFields", "NotificationView", "Notifications"]

_CHUNK = 500  # ids per IN (...) list: well below both engines' parameter limits


class NotificationView(msgspec.Struct, frozen=True, kw_only=True):
    """A notification as one viewer sees it (``dismissed`` is the viewer's); ``target_users`` and
    ``dismissed_count`` are filled for the management view (superusers)."""

    id: str
    title: str
    description: str
    severity: str
    created: int
    updated: int
    start_time: int | None = None
    end_time: int | None = None
    created_by: str | None = None
    broadcast: bool = True
    dismissed: bool = False
    target_users: tuple[str, ...] = ()
    dismissed_count: int = 0


class NotificationFields(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a create, or the changes of an update (UNSET = unchanged; ``None`` clears a window end)."""

    title: str | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    severity: str | msgspec.UnsetType = msgspec.UNSET
    start_time: int | msgspec.UnsetType | None = msgspec.UNSET
    end_time: int | msgspec.UnsetType | None = msgspec.UNSET
    target_users: tuple[str, ...] | msgspec.UnsetType = msgspec.UNSET


class NotificationChange(msgspec.Struct, frozen=True, kw_only=True):
    view: NotificationView | None
    events: tuple[EventRow, ...] = ()


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _marks(items: Sequence[Any]) -> str:
    return ", ".join("{}" for _ in items)


class Notifications:
    def __init__(self, db: Db, names: TableNames, events: Events) -> None:
        self.db = db
        self.n = names
        self.events = events

    # --- SQL pieces -----------------------------------------------------------------------------

    def _addressed(self) -> str:
        """(broadcast or the viewer is a target); one ``{}`` = the viewer."""
        t = self.n.notification_targets
        return (
            f"(NOT EXISTS (SELECT 1 FROM {t} t WHERE t.notification_id = n.id) "
            f"OR EXISTS (SELECT 1 FROM {t} t WHERE t.notification_id = n.id AND t.user_id = {{}}))"
        )

    def _dismissed_by(self) -> str:
        d = self.n.notification_dismissals
        return f"EXISTS (SELECT 1 FROM {d} d WHERE d.notification_id = n.id AND d.user_id = {{}})"

    _IN_WINDOW = "(n.start_time IS NULL OR n.start_time <= {}) AND (n.end_time IS NULL OR n.end_time >= {})"

    def _columns(self) -> str:
        t = self.n.notification_targets
        return (
            "n.id, n.title, n.description, n.severity, n.start_time, n.end_time, n.created_by, n.created, n.updated, "
            f"{self._dismissed_by()} AS dismissed, "
            f"NOT EXISTS (SELECT 1 FROM {t} t WHERE t.notification_id = n.id) AS broadcast"
        )

    async def _views(self, rows: list[dict[str, Any]], *, admin: bool) -> list[NotificationView]:
        targets: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        ids = [r["id"] for r in rows]
        if admin and ids:
            for part in _chunks(ids):
                for r in await self.db.fetch(
                    f"SELECT notification_id, user_id FROM {self.n.notification_targets} "
                    f"WHERE notification_id IN ({_marks(part)}) ORDER BY user_id",
                    *part,
                ):
                    targets.setdefault(r["notification_id"], []).append(r["user_id"])
                for r in await self.db.fetch(
                    f"SELECT notification_id, COUNT(*) AS c FROM {self.n.notification_dismissals} "
                    f"WHERE notification_id IN ({_marks(part)}) GROUP BY notification_id",
                    *part,
                ):
                    counts[r["notification_id"]] = int(r["c"])
        out = []
        for r in rows:
            values = dict(r)
            values["dismissed"] = bool(values["dismissed"])
            values["broadcast"] = bool(values["broadcast"])
            values["target_users"] = tuple(targets.get(r["id"], ()))
            values["dismissed_count"] = counts.get(r["id"], 0)
            out.append(msgspec.convert(values, NotificationView))
        return out

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, notification_id: str, *, viewer: str, admin: bool = False) -> NotificationView | None:
        """One notification with the viewer's ``dismissed`` flag (no visibility check)."""
        row = await self.db.fetchone(
            f"SELECT {self._columns()} FROM {self.n.notifications} n WHERE n.id = {{}}", viewer, notification_id
        )
        if row is None:
            return None
        (view,) = await self._views([row], admin=admin)
        return view

    async def is_addressed(self, notification_id: str, user_id: str) -> bool:
        """Broadcast, or ``user_id`` is among the targets (the time window is not checked)."""
        value = await self.db.fetchval(
            f"SELECT 1 AS one FROM {self.n.notifications} n WHERE n.id = {{}} AND {self._addressed()}",
            notification_id,
            user_id,
        )
        return value is not None

    async def targets(self, notification_id: str) -> list[str]:
        rows = await self.db.fetch(
            f"SELECT user_id FROM {self.n.notification_targets} WHERE notification_id = {{}}", notification_id
        )
        return [r["user_id"] for r in rows]

    # --- writes (superusers) --------------------------------------------------------------------

    async def _check_users(self, user_ids: Sequence[str]) -> None:
        known: set[str] = set()
        for part in _chunks(user_ids):
            rows = await self.db.fetch(f"SELECT id FROM {self.n.users} WHERE id IN ({_marks(part)})", *part)
            known.update(r["id"] for r in rows)
        for index, user_id in enumerate(user_ids):
            if user_id not in known:
                raise BadRequestError(
                    f"target_users[{index}]: user {user_id!r} not found",
                    code="unknown_user",
                    field=f"target_users[{index}]",
                )

    async def _set_targets(self, notification_id: str, user_ids: Sequence[str]) -> None:
        await self.db.execute(
            f"DELETE FROM {self.n.notification_targets} WHERE notification_id = {{}}", notification_id
        )
        await self.db.executemany(
            f"INSERT INTO {self.n.notification_targets} (notification_id, user_id) VALUES ({{}}, {{}})",
            [(notification_id, u) for u in user_ids],
        )

    async def audience_events(
        self, kind: str, notification_id: str, audience: Sequence[str] | None, *, now: int
    ) -> list[EventRow]:
        """``kind`` with data ``{id}`` to everyone (``audience`` ``None``) or to each listed user."""
        data = {"id": notification_id}
        if audience is None:
            return [await self.events.append(NewEvent(kind, "public", data), now=now)]
        return [await self.events.append(NewEvent(kind, "owner", data, user_id=u), now=now) for u in audience]

    async def insert(
        self,
        *,
        title: str,
        description: str,
        severity: str,
        start_time: int | None,
        end_time: int | None,
        target_users: Sequence[str],
        created_by: str | None,
        now: int,
    ) -> tuple[str, list[EventRow]]:
        """Insert inside the caller's write transaction; returns the id and the ``notification.created`` events."""
        assert self.db.in_transaction(), "notifications are inserted inside the caller's transaction"
        targets = list(dict.fromkeys(target_users))
        await self._check_users(targets)
        notification_id = new_id()
        await self.db.execute(
            f"INSERT INTO {self.n.notifications} (id, title, description, severity, start_time, end_time, created_by, "
            "created, updated) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})",
            notification_id,
            title,
            description,
            severity,
            start_time,
            end_time,
            created_by,
            now,
            now,
        )
        await self._set_targets(notification_id, targets)
        events = await self.audience_events("notification.created", notification_id, targets or None, now=now)
        return notification_id, events

    async def create(self, fields: NotificationFields, *, created_by: str, now: int) -> NotificationChange:
        def value(v: Any, default: Any) -> Any:
            return default if isinstance(v, msgspec.UnsetType) else v

        async with self.db.transaction():
            notification_id, events = await self.insert(
                title=value(fields.title, ""),
                description=value(fields.description, ""),
                severity=value(fields.severity, "info"),
                start_time=value(fields.start_time, None),
                end_time=value(fields.end_time, None),
                target_users=value(fields.target_users, ()),
                created_by=created_by,
                now=now,
            )
            view = await self.get(notification_id, viewer=created_by, admin=True)
        return NotificationChange(view=view, events=tuple(events))

    async def update(
        self, notification_id: str, fields: NotificationFields, *, viewer: str, now: int
    ) -> NotificationChange:
        """Change fields; ``target_users`` replaces the whole set; dismissals are kept (N2)."""
        async with self.db.transaction():
            current = await self.get(notification_id, viewer=viewer)
            if current is None:
                raise NotFoundError(f"notification {notification_id} not found")
            before = await self.targets(notification_id)
            start = current.start_time if isinstance(fields.start_time, msgspec.UnsetType) else fields.start_time
            end = current.end_time if isinstance(fields.end_time, msgspec.UnsetType) else fields.end_time
            if start is not None and end is not None and not start < end:
                raise BadRequestError(
                    "start_time must be strictly before end_time.", code="invalid_interval", field="end_time"
                )
            sets = {
                name: getattr(fields, name)
                for name in ("title", "description", "severity", "start_time", "end_time")
                if not isinstance(getattr(fields, name), msgspec.UnsetType)
            }
            assignments = ", ".join(f"{k} = {{}}" for k in sets)
            await self.db.execute(
                f"UPDATE {self.n.notifications} SET {assignments}{', ' if sets else ''}updated = {{}} WHERE id = {{}}",
                *sets.values(),
                now,
                notification_id,
            )
            after = before
            if not isinstance(fields.target_users, msgspec.UnsetType):
                after = list(dict.fromkeys(fields.target_users))
                await self._check_users(after)
                await self._set_targets(notification_id, after)
            # the audience of the change: everyone who could see it before or after
            audience = None if not before or not after else list(dict.fromkeys([*before, *after]))
            events = await self.audience_events("notification.updated", notification_id, audience, now=now)
            view = await self.get(notification_id, viewer=viewer, admin=True)
        return NotificationChange(view=view, events=tuple(events))

    async def delete(self, notification_id: str, *, now: int) -> NotificationChange:
        async with self.db.transaction():
            targets = await self.targets(notification_id)
            rows = await self.db.fetch(
                f"DELETE FROM {self.n.notifications} WHERE id = {{}} RETURNING id", notification_id
            )
            if not rows:
                raise NotFoundError(f"notification {notification_id} not found")
            events = await self.audience_events("notification.deleted", notification_id, targets or None, now=now)
        return NotificationChange(view=None, events=tuple(events))

    # --- dismissals (any user) ------------------------------------------------------------------

    async def _dismiss_rows(self, ids: Sequence[str], user_id: str, now: int) -> list[EventRow]:
        await self.db.executemany(
            f"INSERT INTO {self.n.notification_dismissals} (notification_id, user_id, dismissed_at) "
            "VALUES ({}, {}, {}) ON CONFLICT (notification_id, user_id) DO NOTHING",
            [(i, user_id, now) for i in ids],
        )
        # the dismissing user's other pages and tabs update (N4); nobody else's view changed
        return [
            await self.events.append(NewEvent("notification.updated", "owner", {"id": i}, user_id=user_id), now=now)
            for i in ids
        ]

    async def dismiss(self, notification_id: str, *, user_id: str, now: int) -> NotificationChange:
        """N3: 404 unless it exists and is addressed to the user; then idempotent."""
        async with self.db.transaction():
            if not await self.is_addressed(notification_id, user_id):
                raise NotFoundError("Notification not found.")
            already = await self.db.fetchval(
                f"SELECT 1 AS one FROM {self.n.notification_dismissals} WHERE notification_id = {{}} "
                "AND user_id = {}",
                notification_id,
                user_id,
            )
            events = [] if already is not None else await self._dismiss_rows([notification_id], user_id, now)
        return NotificationChange(view=None, events=tuple(events))

    async def dismiss_all(self, *, user_id: str, now: int) -> tuple[int, list[EventRow]]:
        """N4: dismiss every notification visible to the user now; returns how many."""
        async with self.db.transaction():
            rows = await self.db.fetch(
                f"SELECT n.id FROM {self.n.notifications} n WHERE {self._addressed()} AND {self._IN_WINDOW} "
                f"AND NOT {self._dismissed_by()}",
                user_id,
                now,
                now,
                user_id,
            )
            ids = [r["id"] for r in rows]
            events = await self._dismiss_rows(ids, user_id, now)
        return len(ids), events

    async def list(
        self,
        *,
        viewer: str,
        now: int,
        include_dismissed: bool = False,
        every: bool = False,
        admin: bool = False,
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[NotificationView], int]:
        """The viewer's inbox (N1), or with ``every`` every notification in any window (management)."""
        where: list[str] = []
        args: list[Any] = []
        if not every:
            where += [self._addressed(), self._IN_WINDOW]
            args += [viewer, now, now]
            if not include_dismissed:
                where.append(f"NOT {self._dismissed_by()}")
                args.append(viewer)
        cond = " AND ".join(where) or "1 = 1"
        n = self.n.notifications
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {n} n WHERE {cond}", *args)
        order = "DESC" if descending else "ASC"
        rows = await self.db.fetch(
            f"SELECT {self._columns()} FROM {n} n WHERE {cond} ORDER BY n.created {order}, n.id {order} "
            "LIMIT {} OFFSET {}",
            viewer,
            *args,
            limit,
            offset,
        )
        return await self._views(rows, admin=admin), int(total or 0)
