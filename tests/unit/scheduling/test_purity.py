"""The scheduling package is pure: no I/O library, no asyncio, no clock (ARCHITECTURE.md, STYLE.md §4)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import qpi.server.scheduling as scheduling

PACKAGE = Path(scheduling.__file__).parent
FORBIDDEN_MODULES = (
    "asyncio",
    "piccolo",
    "pynng",
    "litestar",
    "qiskit",
    "anyio",
    "httpx",
    "sqlite3",
    "socket",
)
ALLOWED_QPI = ("qpi.errors", "qpi.server.scheduling")


def test_importing_the_package_pulls_in_no_io_library() -> None:
    code = "import sys, qpi.server.scheduling\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(out.stdout.split())
    bad = sorted(m for m in loaded if m.split(".")[0] in FORBIDDEN_MODULES)
    assert bad == []
    qpi_modules = sorted(m for m in loaded if m.startswith("qpi."))
    assert [m for m in qpi_modules if not m.startswith(ALLOWED_QPI) and m != "qpi.server"] == []


def test_sources_import_only_stdlib_msgspec_and_qpi_errors_and_read_no_clock() -> None:
    clock_calls = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "sleep"}
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")[0]
                assert top in {
                    "__future__",
                    "collections",
                    "dataclasses",
                    "datetime",
                    "typing",
                    "math",
                    "msgspec",
                    "qpi",
                }, (
                    path.name,
                    node.module,
                )
                if top == "qpi":
                    assert node.module.startswith(ALLOWED_QPI), (path.name, node.module)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name in {"math", "msgspec"}, (path.name, alias.name)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in clock_calls, (path.name, node.lineno, node.func.attr)
