"""Version detection and header normalisation (executors.md E-4.1, api.md §3.1)."""

from __future__ import annotations

import pytest

from qpi.errors import QasmParseError
from qpi.qasm import detect_version, normalise_source

BODY = "qubit[1] q;\nbit[1] c;\nc[0] = measure q[0];\n"


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("OPENQASM 2.0;\nqreg q[1];\n", 2),
        ("OPENQASM 2;\nqreg q[1];\n", 2),
        ("OPENQASM 3.0;\n" + BODY, 3),
        ("OPENQASM 3;\n" + BODY, 3),
        ("OPENQASM 3.1;\n" + BODY, 3),
        ("// a comment\n\n  /* block\n comment */ OPENQASM 2.0;\nqreg q[1];\n", 2),
        ("\n\n// only comments before\nOPENQASM\t3.0 ;\n" + BODY, 3),
    ],
)
def test_header_gives_the_version(text: str, version: int) -> None:
    assert detect_version(text) == version
    assert detect_version(text, require_header=False) == version


def test_driver_requires_a_header() -> None:
    with pytest.raises(QasmParseError) as info:
        detect_version("// comment\n" + BODY)
    assert str(info.value) == ("Failed to parse QASM circuit: missing or unrecognized OPENQASM version header")
    assert (info.value.line, info.value.column) == (2, 1)
    assert info.value.code == "qasm_parse_error"


def test_submission_without_header_is_qasm3() -> None:
    assert detect_version(BODY, require_header=False) == 3


@pytest.mark.parametrize(
    "text",
    ["OPENQASM 4.0;\n" + BODY, "OPENQASM 2.0\nqreg q[1];\n", "OPENQASM three;\n", "OPENQASM;\n"],
)
def test_unrecognised_version_statement_is_refused_in_both_modes(text: str) -> None:
    for require_header in (True, False):
        with pytest.raises(QasmParseError, match="missing or unrecognized OPENQASM version header"):
            detect_version(text, require_header=require_header)


def test_header_later_in_the_text_does_not_count() -> None:
    text = 'include "stdgates.inc";\nOPENQASM 3.0;\n'
    with pytest.raises(QasmParseError):
        detect_version(text)


def test_normalise_prepends_the_qasm3_header_only_when_missing() -> None:
    assert normalise_source(BODY) == "OPENQASM 3.0;\n" + BODY
    with_header = "// c\nOPENQASM 2.0;\nqreg q[1];\n"
    assert normalise_source(with_header) == with_header
    assert detect_version(normalise_source(BODY)) == 3
    with pytest.raises(QasmParseError):
        normalise_source("OPENQASM 7;\n")
