"""Fixtures of the configuration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FINGERPRINT = "ab" * 32


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Remove every QPI variable of the real environment and work in ``tmp_path``.

    For tests that go through ``os.environ`` (the click commands); loader tests pass their own dict.
    """
    for name in list(os.environ):
        if name.startswith(("QPI_", "QPU_")) or name in ("DRIVER_BACKEND", "XDG_CONFIG_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("QPI_CONFIG_DIR", str(tmp_path / "client-config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path
