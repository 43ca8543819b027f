"""Small asyncio helpers shared by server, driver and client loops."""

from __future__ import annotations

import asyncio

__all__ = ["wait_event"]


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:  # noqa: ASYNC109 - that is its job
    """Wait until ``event`` is set or ``timeout`` seconds pass; True when it was set.

    ``asyncio.wait_for`` on Python 3.11 can swallow a cancellation that arrives as the event is set,
    leaving a supervised loop that never stops; ``asyncio.timeout`` does not.
    """
    if event.is_set():  # the busy case: no timer to arm and cancel
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
