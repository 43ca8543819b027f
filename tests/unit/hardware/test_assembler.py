"""E-3.11 / E-3.12: does the Q1 assembler bundled with qblox-instruments run on this glibc?"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from qpi.driver.executors.hardware.assembler import (
    assembler_glibc_message,
    assembler_path,
    dummy_run_unavailable_reason,
    required_glibc,
    system_glibc,
)


def fake_assembler(tmp_path: Path, *versions: str) -> Path:
    path = tmp_path / "q1asm_linux"
    path.write_bytes(b"\x7fELF" + b"\0".join(f"GLIBC_{v}".encode() for v in versions) + b"\0")
    return path


def test_required_version_is_read_from_the_binary(tmp_path: Path) -> None:
    assert required_glibc(fake_assembler(tmp_path, "2.2.5", "2.34", "2.38", "2.17")) == (2, 38)


def test_the_exact_message_when_the_system_glibc_is_too_old(tmp_path: Path) -> None:
    message = assembler_glibc_message(path=fake_assembler(tmp_path, "2.38"), system=(2, 36))
    version = metadata.version("qblox-instruments")
    assert message == (
        f"qblox-instruments {version} bundles an assembler that needs glibc ≥ 2.38 (this system has 2.36); "
        "install qblox-instruments==1.1.1 for dummy mode, or use a newer OS"
    )


def test_no_message_when_the_system_is_new_enough(tmp_path: Path) -> None:
    assert assembler_glibc_message(path=fake_assembler(tmp_path, "2.34"), system=(2, 36)) is None
    assert assembler_glibc_message(path=fake_assembler(tmp_path, "2.38"), system=(2, 38)) is None


def test_the_installed_assembler_runs_here() -> None:
    # qblox-instruments 1.1.1 bundles an assembler needing glibc 2.34; Debian 12 has 2.36.
    path = assembler_path()
    assert path is not None and path.is_file()
    needed, have = required_glibc(path), system_glibc()
    assert needed is not None and have is not None
    if needed <= have:
        assert dummy_run_unavailable_reason() is None
    else:
        assert "install qblox-instruments==1.1.1" in (dummy_run_unavailable_reason() or "")
