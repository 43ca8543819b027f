"""Can the Q1 assembler bundled with qblox-instruments run here? (E-3.11, E-3.12)

The dummy cluster assembles every sequencer program with the ``q1asm_linux`` binary shipped in
qblox-instruments. Versions 1.2.0 … 1.4.1 bundle a binary linked against glibc 2.38; on older
systems (Debian 12 has 2.36) compilation still works but ``prepare`` fails with
``Assembly failed.``. qblox-instruments 1.1.1 bundles a binary that needs glibc 2.34. We read the
required version from the binary's symbol-version strings instead of guessing from the package
version, and never patch qblox-instruments.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from importlib import metadata, util
from pathlib import Path

__all__ = [
    "assembler_glibc_message",
    "assembler_path",
    "dummy_run_unavailable_reason",
    "required_glibc",
    "system_glibc",
]

_GLIBC = re.compile(rb"GLIBC_(\d+)\.(\d+)")


def system_glibc() -> tuple[int, int] | None:
    """The running system's glibc version, or None (not Linux, or not glibc)."""
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        return None
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def assembler_path() -> Path | None:
    """Path of the Linux Q1 assembler inside qblox-instruments, or None when absent."""
    spec = util.find_spec("qblox_instruments")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "assemblers" / "q1asm_linux"
    return path if path.is_file() else None


@functools.cache
def required_glibc(path: Path | None = None) -> tuple[int, int] | None:
    """The highest ``GLIBC_x.y`` symbol version the assembler binary references."""
    path = path or assembler_path()
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError:
        return None
    versions = {(int(a), int(b)) for a, b in _GLIBC.findall(content)}
    return max(versions) if versions else None


def _fmt(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def assembler_glibc_message(*, path: Path | None = None, system: tuple[int, int] | None = None) -> str | None:
    """The E-3.11 message when the bundled assembler needs a newer glibc than this system's.

    ``path`` (the assembler binary) and ``system`` (the glibc version) default to this machine's.
    """
    if path is None and not sys.platform.startswith("linux"):
        return None
    needed, have = required_glibc(path), system or system_glibc()
    if needed is None or have is None or needed <= have:
        return None
    try:
        version = metadata.version("qblox-instruments")
    except metadata.PackageNotFoundError:
        version = "?"
    return (
        f"qblox-instruments {version} bundles an assembler that needs glibc ≥ {_fmt(needed)} "
        f"(this system has {_fmt(have)}); install qblox-instruments==1.1.1 for dummy mode, "
        "or use a newer OS"
    )


def dummy_run_unavailable_reason() -> str | None:
    """Why dummy-cluster runs cannot work here (for skipping tests), or None when they can."""
    if util.find_spec("qblox_instruments") is None:
        return "qblox-instruments is not installed"
    return assembler_glibc_message()
