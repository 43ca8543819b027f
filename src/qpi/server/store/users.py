"""Users: accounts, roles, the balance cache (changed only through :class:`~.ledger.Ledger`)."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column

from qpi.errors import ConflictError, NotFoundError
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db, IntegrityError
from qpi.server.store.ledger import Ledger
from qpi.server.store.rows import UserRow
from qpi.server.store.tables import Tables

__all__ = ["Users"]

USER_SORTS = {"email": "email_lower", "name": "name", "created": "created", "qpu_seconds": "balance_ms"}


class Users:
    def __init__(self, db: Db, tables: Tables, ledger: Ledger) -> None:
        self.db = db
        self.T = tables.users
        self.ledger = ledger

    async def create(
        self,
        *,
        email: str,
        name: str,
        password_hash: str | None,
        role: str,
        balance_ms: int,
        now: int,
        actor: str | None,
    ) -> UserRow:
        user_id = new_id()
        async with self.db.transaction():
            try:
                async with self.db.guard():
                    await self.T.insert(
                        self.T(
                            id=user_id,
                            email=email,
                            email_lower=email.lower(),
                            name=name,
                            password_hash=password_hash,
                            role=role,
                            disabled=False,
                            balance_ms=0,
                            created=now,
                            updated=now,
                        )
                    )
            except IntegrityError as exc:
                raise ConflictError(f"a user with e-mail {email} already exists", code="email_taken") from exc
            if balance_ms:
                await self.ledger.apply(
                    user_id=user_id, kind="initial", amount_ms=balance_ms, now=now, actor=actor, reason="start balance"
                )
        user = await self.get(user_id)
        assert user is not None
        return user

    async def get(self, user_id: str) -> UserRow | None:
        row = await self.T.select().where(self.T.id == user_id).first()
        return to_row(row, UserRow) if row else None

    async def get_by_email(self, email: str) -> UserRow | None:
        row = await self.T.select().where(self.T.email_lower == email.lower()).first()
        return to_row(row, UserRow) if row else None

    async def list(
        self,
        *,
        q: str | None = None,
        role: str | None = None,
        disabled: bool | None = None,
        sort: list[tuple[str, bool]] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[UserRow], int]:
        T = self.T
        where: list[Any] = []
        if q:
            # SQLite's LIKE is already case-insensitive (ASCII); Piccolo warns on ilike there.
            name_match = T.name.like(f"%{q}%") if self.db.dialect == "sqlite" else T.name.ilike(f"%{q}%")
            where.append(T.email_lower.like(f"%{q.lower()}%") | name_match)
        if role:
            where.append(T.role == role)
        if disabled is not None:
            where.append(T.disabled == disabled)
        query = T.select()
        count = T.count()
        for clause in where:
            query = query.where(clause)
            count = count.where(clause)
        for field, descending in sort or [("email", False)]:
            column: Column = getattr(T, USER_SORTS[field])
            query = query.order_by(column, ascending=not descending)
        rows = await query.limit(limit).offset(offset)
        return rows_to(rows, UserRow), int(await count)

    async def update(self, user_id: str, values: dict[str, Any], *, now: int) -> UserRow:
        T = self.T
        changes: dict[Any, Any] = {getattr(T, k): v for k, v in values.items()}
        if "email" in values:
            changes[T.email_lower] = str(values["email"]).lower()
        changes[T.updated] = now
        try:
            async with self.db.guard():
                rows = await T.update(changes).where(T.id == user_id).returning(T.id)
        except IntegrityError as exc:
            raise ConflictError("another user already has that e-mail", code="email_taken") from exc
        if not rows:
            raise NotFoundError(f"user {user_id} not found")
        user = await self.get(user_id)
        assert user is not None
        if "role" in values:  # superusers are always payable; a demoted one pays like anybody
            await self.ledger.refresh_payable(user_id, user.role == "superuser" or user.balance_ms > 0)
        return user

    async def record_login(self, user_id: str, now: int) -> None:
        await self.T.update({self.T.last_login_at: now}).where(self.T.id == user_id)

    async def delete(self, user_id: str) -> bool:
        rows = await self.T.delete().where(self.T.id == user_id).returning(self.T.id)
        return bool(rows)

    async def count_enabled_superusers(self) -> int:
        T = self.T
        return int(await T.count().where((T.role == "superuser") & (T.disabled == False)))  # noqa: E712
