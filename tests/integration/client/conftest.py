"""Fixtures of the client integration tests: the real app (SQLite file) behind ``httpx.ASGITransport``.

No driver runs here, so jobs stay pending (reason ``no_driver_online``); the end-to-end tests run
jobs to completion against ``qpi serve --local-qpu mock``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _isolated_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The client under test reads no QPI variable or profile of the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("QPI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QPI_CONFIG_DIR", str(tmp_path / "client-config"))


@dataclass
class World:
    """The app, a superuser and a user with their tokens, and a QPU without a connected driver."""

    app: Any
    admin_token: str
    user_token: str
    user_id: str
    qpu: str
    transport: httpx.AsyncBaseTransport

    def client(self, token: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> Any:
        from qpi.client import AsyncClient

        return AsyncClient("http://testserver", token, transport=transport or self.transport, retries=2)


@pytest.fixture
async def world(sqlite_app: Any) -> AsyncIterator[World]:
    admin = await sqlite_app.user(role="superuser")
    user = await sqlite_app.user(seconds=100.0)
    await sqlite_app.qpu(admin, name="sim")
    transport = httpx.ASGITransport(app=sqlite_app.server.app, client=("127.0.0.1", 50001))
    yield World(sqlite_app, admin.token, user.token, user.id, "sim", transport)
