"""OpenQASM version detection and header normalisation (``executors.md`` E-4.1, ``api.md`` §3.1).

The first statement after comments and blank lines must be ``OPENQASM 2[.x];`` or
``OPENQASM 3[.x];``. A driver requires that header; a submission without any version statement
counts as OpenQASM 3, and the server stores it with ``OPENQASM 3.0;`` prepended.
"""

from __future__ import annotations

import re
from typing import Literal

from qpi.errors import QasmParseError
from qpi.qasm.source import position

__all__ = [
    "MISSING_HEADER",
    "PARSE_PREFIX",
    "QasmVersion",
    "detect_version",
    "first_statement",
    "normalise_source",
]

QasmVersion = Literal[2, 3]

PARSE_PREFIX = "Failed to parse QASM circuit: "
MISSING_HEADER = "missing or unrecognized OPENQASM version header"
QASM3_HEADER = "OPENQASM 3.0;\n"

# Whitespace, `// line` comments and `/* block */` comments before the first statement.
_LEADING = re.compile(r"(?:\s+|//[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_KEYWORD = re.compile(r"OPENQASM(?![A-Za-z0-9_])")
_HEADER = re.compile(r"OPENQASM[ \t\r\n]+(?P<major>[0-9]+)(?:\.[0-9]+)?[ \t\r\n]*;")


def first_statement(text: str) -> int | None:
    """Offset of the first character that is not whitespace or a comment; None if there is none."""
    end = _LEADING.match(text)
    offset = end.end() if end else 0
    if offset >= len(text) or text.startswith("/*", offset):
        # Nothing left, or an unterminated block comment: no statement at all.
        return None
    return offset


def _header_error(text: str, offset: int | None) -> QasmParseError:
    line, column = position(text, offset) if offset is not None else (None, None)
    return QasmParseError(PARSE_PREFIX + MISSING_HEADER, line=line, column=column)


def detect_version(text: str, *, require_header: bool = True) -> QasmVersion:
    """The OpenQASM major version a text declares.

    With ``require_header`` (the driver, E-4.1) a missing header raises :class:`QasmParseError`
    ("Failed to parse QASM circuit: missing or unrecognized OPENQASM version header"). Without it
    (a submission, ``api.md`` §3.1) a text whose first statement is not ``OPENQASM`` counts as
    OpenQASM 3. A version statement other than 2.x or 3.x is refused in both modes.
    """
    offset = first_statement(text)
    if offset is None or not _KEYWORD.match(text, offset):
        if require_header:
            raise _header_error(text, offset)
        return 3
    header = _HEADER.match(text, offset)
    if header is None:
        raise _header_error(text, offset)
    major = header.group("major")
    if major == "2":
        return 2
    if major == "3":
        return 3
    raise _header_error(text, offset)


def normalise_source(text: str) -> str:
    """``text`` with ``OPENQASM 3.0;`` prepended when it has no version statement.

    A malformed or unsupported version statement raises :class:`QasmParseError`.
    """
    offset = first_statement(text)
    if offset is not None and _KEYWORD.match(text, offset):
        detect_version(text, require_header=True)
        return text
    return QASM3_HEADER + text
