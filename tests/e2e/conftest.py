"""Fixtures of the end-to-end tests (helpers live in ``e2e.support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.support import LocalServer, start_local_server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """``qpi serve --local-qpu mock``, shared by the tests of one module."""
    tmp = tmp_path_factory.mktemp("local")
    server = start_local_server(tmp)
    try:
        yield server
    finally:
        code = server.process.stop()
        assert code == 0, f"qpi serve exited with {code}:\n{server.process.output()[-3000:]}"
