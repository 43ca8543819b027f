"""Browser/bearer sessions and API tokens, stored as SHA-256 hashes only."""

from __future__ import annotations

from typing import Any

from qpi.errors import ConflictError
from qpi.server.store.common import new_id, rows_to, to_row
from qpi.server.store.engine import Db, IntegrityError
from qpi.server.store.names import TableNames
from qpi.server.store.rows import SessionRow, TokenRow, UserRow

__all__ = ["Credentials"]

_USER_COLS = (
    "u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.disabled AS u_disabled, "
    "u.balance_ms AS u_balance_ms, u.created AS u_created, u.updated AS u_updated, u.last_login_at AS u_last_login_at"
)


def _split_user(row: dict[str, Any]) -> tuple[dict[str, Any], UserRow]:
    user = {k[2:]: row.pop(k) for k in list(row) if k.startswith("u_")}
    return row, to_row(user, UserRow)


class Credentials:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.n = names

    # --- sessions ---------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        user_id: str,
        token_hash: str,
        csrf_token: str,
        expires_at: int,
        max_expires_at: int,
        now: int,
        ip: str,
        user_agent: str,
    ) -> SessionRow:
        row = SessionRow(
            id=new_id(),
            user_id=user_id,
            token_hash=token_hash,
            csrf_token=csrf_token,
            expires_at=expires_at,
            max_expires_at=max_expires_at,
            last_seen=now,
            created=now,
            ip=ip[:64],
            user_agent=user_agent[:255],
        )
        await self.db.execute(
            f"INSERT INTO {self.n.sessions} (id, user_id, token_hash, csrf_token, expires_at, max_expires_at, "
            "last_seen, ip, user_agent, created) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            row.id,
            row.user_id,
            row.token_hash,
            row.csrf_token,
            row.expires_at,
            row.max_expires_at,
            row.last_seen,
            row.ip,
            row.user_agent,
            row.created,
        )
        return row

    async def session_by_hash(self, token_hash: str) -> tuple[SessionRow, UserRow] | None:
        row = await self.db.fetchone(
            f"SELECT s.*, {_USER_COLS} FROM {self.n.sessions} s JOIN {self.n.users} u ON u.id = s.user_id "
            "WHERE s.token_hash = {}",
            token_hash,
        )
        if row is None:
            return None
        rest, user = _split_user(row)
        return to_row(rest, SessionRow), user

    async def session_expires_at(self, session_id: str) -> int | None:
        value = await self.db.fetchval(f"SELECT expires_at FROM {self.n.sessions} WHERE id = {{}}", session_id)
        return None if value is None else int(value)

    async def touch_session(self, session_id: str, *, expires_at: int, now: int) -> None:
        await self.db.execute(
            f"UPDATE {self.n.sessions} SET expires_at = {{}}, last_seen = {{}} WHERE id = {{}}",
            expires_at,
            now,
            session_id,
        )

    async def delete_session(self, session_id: str) -> None:
        await self.db.execute(f"DELETE FROM {self.n.sessions} WHERE id = {{}}", session_id)

    async def delete_user_sessions(self, user_id: str, *, keep: str | None = None) -> None:
        await self.db.execute(f"DELETE FROM {self.n.sessions} WHERE user_id = {{}} AND id <> {{}}", user_id, keep or "")

    async def purge_expired_sessions(self, now: int) -> int:
        rows = await self.db.fetch(f"DELETE FROM {self.n.sessions} WHERE expires_at < {{}} RETURNING id", now)
        return len(rows)

    # --- API tokens ---------------------------------------------------------------------------

    async def create_token(
        self,
        *,
        user_id: str,
        name: str,
        token_hash: str,
        prefix: str,
        expires_at: int | None,
        now: int,
        max_tokens: int | None,
    ) -> TokenRow:
        row = TokenRow(
            id=new_id(),
            user_id=user_id,
            name=name,
            prefix=prefix,
            created=now,
            expires_at=expires_at,
            token_hash=token_hash,
        )
        async with self.db.transaction():
            if max_tokens is not None:
                count = await self.db.fetchval(
                    f"SELECT COUNT(*) AS c FROM {self.n.api_tokens} WHERE user_id = {{}}", user_id
                )
                if int(count) >= max_tokens:
                    raise ConflictError(
                        f"this account already has {count} API tokens, the limit is {max_tokens}; delete one first",
                        code="token_limit",
                    )
            try:
                await self.db.execute(
                    f"INSERT INTO {self.n.api_tokens} (id, user_id, name, token_hash, prefix, expires_at, created) "
                    "VALUES ({}, {}, {}, {}, {}, {}, {})",
                    row.id,
                    row.user_id,
                    row.name,
                    token_hash,
                    row.prefix,
                    row.expires_at,
                    row.created,
                )
            except IntegrityError as exc:
                raise ConflictError("that token already exists", code="token_exists") from exc
        return row

    async def token_by_hash(self, token_hash: str) -> tuple[TokenRow, UserRow] | None:
        row = await self.db.fetchone(
            f"SELECT t.id, t.user_id, t.name, t.prefix, t.created, t.expires_at, t.last_used_at, {_USER_COLS} "
            f"FROM {self.n.api_tokens} t JOIN {self.n.users} u ON u.id = t.user_id WHERE t.token_hash = {{}}",
            token_hash,
        )
        if row is None:
            return None
        rest, user = _split_user(row)
        return to_row(rest, TokenRow), user

    async def touch_token(self, token_id: str, now: int) -> None:
        await self.db.execute(f"UPDATE {self.n.api_tokens} SET last_used_at = {{}} WHERE id = {{}}", now, token_id)

    async def list_tokens(
        self, *, user_id: str, order: str = "created DESC", limit: int = 50, offset: int = 0
    ) -> tuple[list[TokenRow], int]:
        total = await self.db.fetchval(f"SELECT COUNT(*) AS c FROM {self.n.api_tokens} WHERE user_id = {{}}", user_id)
        rows = await self.db.fetch(
            f"SELECT id, user_id, name, prefix, created, expires_at, last_used_at FROM {self.n.api_tokens} "
            f"WHERE user_id = {{}} ORDER BY {order}, id LIMIT {{}} OFFSET {{}}",
            user_id,
            limit,
            offset,
        )
        return rows_to(rows, TokenRow), int(total)

    async def get_token(self, token_id: str) -> TokenRow | None:
        row = await self.db.fetchone(
            f"SELECT id, user_id, name, prefix, created, expires_at, last_used_at FROM {self.n.api_tokens} "
            "WHERE id = {}",
            token_id,
        )
        return to_row(row, TokenRow) if row else None

    async def update_token(self, token_id: str, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = {{}}" for k in values)
        await self.db.execute(f"UPDATE {self.n.api_tokens} SET {sets} WHERE id = {{}}", *values.values(), token_id)

    async def delete_token(self, token_id: str) -> bool:
        rows = await self.db.fetch(f"DELETE FROM {self.n.api_tokens} WHERE id = {{}} RETURNING id", token_id)
        return bool(rows)
