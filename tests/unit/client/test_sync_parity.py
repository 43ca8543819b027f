"""``Client`` is generated from ``AsyncClient``: same names, equal signatures, blocking iterators."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from qpi.client import AsyncClient, Client
from qpi.client.sync import public_async_members
from qpi.errors import QPIError


def walk(async_cls: type, sync_cls: type, path: str = "client") -> list[str]:
    checked = []
    for name, fn in public_async_members(async_cls).items():
        mirrored = getattr(sync_cls, name, None)
        assert callable(mirrored), f"{path}.{name} is missing from Client"
        assert inspect.signature(mirrored) == inspect.signature(fn), f"{path}.{name}: signatures differ"
        assert not inspect.iscoroutinefunction(mirrored), f"{path}.{name} must block"
        checked.append(f"{path}.{name}")
    for attr, ns in getattr(async_cls, "NAMESPACES", {}).items():
        checked += walk(ns, sync_cls.SYNC_NAMESPACES[attr], f"{path}.{attr}")
    return checked


def test_client_mirrors_every_coroutine_of_async_client() -> None:
    checked = walk(AsyncClient, Client)
    assert "client.jobs.submit" in checked and "client.admin.users.grant" in checked
    assert "client.stream" in checked and "client.jobs.iter" in checked
    assert len(checked) > 60
    assert inspect.signature(Client.__init__) == inspect.signature(AsyncClient.__init__)


def test_namespaces_are_attributes_of_instances(clean_env: Path) -> None:
    with Client("http://127.0.0.1:9") as client:
        assert isinstance(client.jobs, Client.SYNC_NAMESPACES["jobs"])
        assert client.admin.users.grant.__doc__ == AsyncClient.NAMESPACES["admin"].NAMESPACES["users"].grant.__doc__
        assert inspect.signature(client.jobs.get) == inspect.signature(AsyncClient("http://x").jobs.get)


def test_closed_client_refuses_every_call(clean_env: Path) -> None:
    client = Client("http://127.0.0.1:9")
    client.close()
    client.close()  # idempotent
    with pytest.raises(QPIError, match="client is closed"):
        client.jobs.get("j1")
    with pytest.raises(QPIError, match="client is closed"):
        client.health()


@pytest.mark.anyio
async def test_async_client_closed_refuses(clean_env: Path) -> None:
    client = AsyncClient("http://127.0.0.1:9")
    await client.aclose()
    with pytest.raises(QPIError, match="client is closed"):
        await client.me()
    with pytest.raises(QPIError, match="client is closed"):
        async with client:
            pass
