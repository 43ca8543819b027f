"""File-descriptor capture and the native parser's diagnostics (executors.md E-4.4)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from qpi.qasm.diagnostics import NativeDiagnosis, capture_output, native_parse_is_safe
from qpi.qasm.diagnostics import diagnose as maybe_diagnose

H3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'


def diagnose(text: str, until_line: int | None = None) -> NativeDiagnosis:
    diagnosis = maybe_diagnose(text, until_line=until_line)
    assert diagnosis is not None, "the text should be safe for the native parser"
    return diagnosis


def test_capture_sees_both_descriptors_and_restores_them(capfd: pytest.CaptureFixture[str]) -> None:
    before = (os.fstat(1).st_ino, os.fstat(2).st_ino)

    def noisy() -> None:
        os.write(1, b"to stdout\n")
        os.write(2, b"to stderr\n")

    error, output = capture_output(noisy)
    assert error is None
    assert "to stdout" in output
    assert "to stderr" in output
    assert (os.fstat(1).st_ino, os.fstat(2).st_ino) == before
    os.write(1, b"after the capture\n")
    captured = capfd.readouterr()
    assert "after the capture" in captured.out
    assert "to stdout" not in captured.out


def test_capture_returns_the_exception() -> None:
    def failing() -> None:
        os.write(1, b"partial")
        raise ValueError("boom")

    error, output = capture_output(failing)
    assert isinstance(error, ValueError)
    assert "partial" in output


def test_capture_lets_keyboard_interrupt_through() -> None:
    before = os.fstat(1).st_ino

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capture_output(interrupted)
    assert os.fstat(1).st_ino == before


def test_diagnose_reads_the_first_located_error(capfd: pytest.CaptureFixture[str]) -> None:
    diagnosis = diagnose(H3 + "qubit[2] q;\nh q[0]\ncx q[0], q[1];\n")
    assert (diagnosis.line, diagnosis.column) == (4, 7)
    assert diagnosis.message
    # Nothing leaked to the real stdout or stderr.
    captured = capfd.readouterr()
    assert "no file" not in captured.out + captured.err


def test_diagnose_of_a_valid_text() -> None:
    assert diagnose(H3 + "qubit q;\nh q;\n").message is None


def test_diagnose_out_of_range_has_no_position() -> None:
    diagnosis = diagnose(H3 + "qubit[2] q;\nh q[5];\n")
    assert diagnosis.message is not None
    assert "out of range" in diagnosis.message
    assert diagnosis.line is None


def test_native_reparse_never_reads_included_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "secret.inc"
    secret.write_text("top secret content here\n")
    caplog.set_level(logging.DEBUG, logger="qpi.qasm.diagnostics")
    diagnosis = diagnose(f'OPENQASM 3.0;\ninclude "{secret}";\nqubit q;\nh q\n')
    assert (diagnosis.line, diagnosis.column) == (4, 4)
    assert "native OpenQASM 3 parser output" in caplog.text
    assert "secret" not in caplog.text


def test_native_parse_safety_limits() -> None:
    assert native_parse_is_safe(H3 + "qubit q;\nh q;\n")
    assert not native_parse_is_safe(H3 + "qubit q;\nrx(" + "(" * 101 + "1" + ")" * 101 + ") q;\n")
    assert not native_parse_is_safe(H3 + "qubit q;\nrx(" + "+".join(["1"] * 600) + ") q;\n")
    assert not native_parse_is_safe(H3 + "qubit q;\n" + "h q;\n" * 20_000)
    assert maybe_diagnose(H3 + "qubit q;\nrx(" + "-" * 5000 + "1) q\n") is None


def test_diagnose_cuts_the_text_after_the_given_line() -> None:
    text = H3 + "qubit q;\nh q;\n@@@\n"
    assert diagnose(text).line == 5
    assert diagnose(text, until_line=4).message is None
