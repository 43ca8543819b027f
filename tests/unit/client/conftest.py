"""Fixtures of the client unit tests: no server is started here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No QPI variable of the real environment, and an empty client config directory."""
    for name in list(os.environ):
        if name.startswith("QPI_") or name in ("XDG_CONFIG_HOME", "NO_COLOR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QPI_CONFIG_DIR", str(tmp_path / "client-config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
