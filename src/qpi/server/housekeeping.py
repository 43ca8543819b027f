"""Housekeeping loops: purge expired sessions and idempotency keys, prune old events; checkpoint
SQLite's write-ahead log off the event loop."""

from __future__ import annotations

import asyncio
import logging

from qpi.server.context import ServerContext

__all__ = ["housekeeping_loop", "wal_checkpoint_loop"]

logger = logging.getLogger(__name__)


async def housekeeping_loop(ctx: ServerContext) -> None:
    interval = max(1.0, min(ctx.config.recovery_interval, ctx.config.events_prune_interval))
    last_prune = 0.0
    while True:
        now = ctx.clock.now_us()
        sessions = await ctx.store.credentials.purge_expired_sessions(now)
        keys = await ctx.store.idempotency.purge(now)
        if sessions or keys:
            logger.info("purged %d expired sessions and %d idempotency keys", sessions, keys)
        mono = ctx.clock.monotonic()
        if ctx.config.events_retention > 0 and mono - last_prune >= ctx.config.events_prune_interval:
            last_prune = mono
            cutoff = now - int(ctx.config.events_retention * 1_000_000)
            pruned = await ctx.store.events.prune(older_than=cutoff)
            if pruned:
                logger.info("pruned %d events older than the retention", pruned)
        await asyncio.sleep(interval)


async def wal_checkpoint_loop(ctx: ServerContext) -> None:
    """Checkpoint the SQLite WAL every ``CHECKPOINT_INTERVAL`` on a thread, instead of in a commit."""
    from qpi.server.store.sqlite import CHECKPOINT_INTERVAL

    while True:
        await asyncio.sleep(CHECKPOINT_INTERVAL)
        await ctx.store.db.checkpoint()
