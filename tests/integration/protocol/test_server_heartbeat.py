"""The server's side of liveness: ``ServerHeartbeat`` on every attached link, every interval."""

from __future__ import annotations

import pytest

from qpi.protocol.messages import ServerHeartbeat

pytestmark = pytest.mark.anyio


async def test_server_heartbeats_flow_while_idle(served, proto) -> None:
    driver, _qpu = proto
    await driver.connect()
    # the fixture's interval is 1 s; nothing else happens, so only the heartbeat loop can send these
    first = await driver.expect(ServerHeartbeat, timeout=5)
    second = await driver.expect(ServerHeartbeat, timeout=5)
    assert second.payload.seq == first.payload.seq + 1
    assert second.payload.server_time >= first.payload.server_time
    assert second.driver == first.driver
