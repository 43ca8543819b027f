"""``Idempotency-Key`` records (``api.md`` §1.7), in the database so replays survive restarts."""

from __future__ import annotations

from dataclasses import dataclass

from qpi.errors import BadRequestError, ConflictError
from qpi.server.store.engine import Db, IntegrityError
from qpi.server.store.names import TableNames

__all__ = ["IN_PROGRESS_TTL_US", "Idempotency", "StoredResponse"]

# An in-progress record whose request died with its server is released after this long.
IN_PROGRESS_TTL_US = 120 * 1_000_000


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    content_type: str


class Idempotency:
    def __init__(self, db: Db, names: TableNames) -> None:
        self.db = db
        self.n = names

    async def begin(self, *, user_id: str, key: str, fingerprint: str, now: int) -> StoredResponse | None:
        """Claim ``key`` for this request, or return the stored answer to replay.

        Raises 422 ``idempotency_key_reused`` for another request under the same key and 409
        ``idempotency_in_progress`` while the first request still runs.
        """
        for _ in range(3):
            async with self.db.transaction():
                row = await self.db.fetchone(
                    f"SELECT fingerprint, status, response, content_type, expires_at FROM {self.n.idempotency} "
                    "WHERE user_id = {} AND key = {}",
                    user_id,
                    key,
                )
                if row is not None and int(row["expires_at"]) > now:
                    if row["fingerprint"] != fingerprint:
                        raise BadRequestError(
                            "this Idempotency-Key was already used for a different request",
                            code="idempotency_key_reused",
                            status=422,
                        )
                    if row["status"] is None:
                        raise ConflictError(
                            "a request with this Idempotency-Key is still being processed; retry shortly",
                            code="idempotency_in_progress",
                        )
                    return StoredResponse(
                        status=int(row["status"]),
                        body=bytes(row["response"] or b""),
                        content_type=row["content_type"] or "application/json",
                    )
                try:
                    if row is not None:
                        await self.db.execute(
                            f"DELETE FROM {self.n.idempotency} WHERE user_id = {{}} AND key = {{}}", user_id, key
                        )
                    await self.db.execute(
                        f"INSERT INTO {self.n.idempotency} (user_id, key, fingerprint, status, expires_at) "
                        "VALUES ({}, {}, {}, NULL, {})",
                        user_id,
                        key,
                        fingerprint,
                        now + IN_PROGRESS_TTL_US,
                    )
                except IntegrityError:
                    continue  # a concurrent request claimed it first: read it again
                return None
        raise ConflictError(
            "a request with this Idempotency-Key is still being processed", code="idempotency_in_progress"
        )

    async def finish(
        self, *, user_id: str, key: str, status: int, body: bytes, content_type: str, expires_at: int
    ) -> None:
        if status >= 500 or status == 429:
            await self.release(user_id=user_id, key=key)
            return
        await self.db.execute(
            f"UPDATE {self.n.idempotency} SET status = {{}}, response = {{}}, content_type = {{}}, expires_at = {{}} "
            "WHERE user_id = {} AND key = {}",
            status,
            body,
            content_type,
            expires_at,
            user_id,
            key,
        )

    async def release(self, *, user_id: str, key: str) -> None:
        await self.db.execute(
            f"DELETE FROM {self.n.idempotency} WHERE user_id = {{}} AND key = {{}} AND status IS NULL", user_id, key
        )

    async def purge(self, now: int) -> int:
        rows = await self.db.fetch(f"DELETE FROM {self.n.idempotency} WHERE expires_at < {{}} RETURNING key", now)
        return len(rows)
