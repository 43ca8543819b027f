"""Fixtures of the TLS-material unit tests: file paths in ``tmp_path`` and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from qpi.server.tls import TlsPaths

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def now() -> datetime:
    return NOW


def tls_paths(directory: Path) -> TlsPaths:
    return TlsPaths(
        ca_cert=directory / ".qpi.ca.pem",
        ca_key=directory / ".qpi.ca.key",
        cert=directory / ".qpi.cert.pem",
        key=directory / ".qpi.key",
    )


@pytest.fixture
def paths(tmp_path: Path) -> TlsPaths:
    return tls_paths(tmp_path / "data")
