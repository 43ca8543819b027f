"""OpenQASM 2 and 3 text → ``QuantumCircuit``, with located errors (``executors.md`` E-4.1 … E-4.4).

OpenQASM 2 goes through ``qiskit.qasm2.loads`` with the legacy custom instructions (so Qiskit's
own ``qasm2.dumps`` output, with ``sx``, ``p``, ``u``, ``swap``, ``cp`` …, round-trips) and an
empty include path: only the built-in ``qelib1.inc`` can be included, never a file. OpenQASM 3 goes
through ``qiskit.qasm3.loads`` (``qiskit-qasm3-import``), which refuses every include except
``stdgates.inc``; ``input float[64] theta;`` becomes the parameter ``theta``.

Every failure raises :class:`~qpi.errors.QasmParseError`; its message starts with
"Failed to parse QASM circuit: " and ``line``/``column`` are 1-based when known.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import NamedTuple

import openqasm3.parser
import qiskit.qasm2
import qiskit.qasm3
import qiskit_qasm3_import  # noqa: F401  (imported here, in the importing thread, not lazily by loads)
from qiskit.circuit import QuantumCircuit
from qiskit.circuit.exceptions import CircuitError

from qpi.errors import QasmParseError
from qpi.qasm.diagnostics import diagnose
from qpi.qasm.source import nesting_overflow, position
from qpi.qasm.version import PARSE_PREFIX, QasmVersion, detect_version, first_statement

__all__ = ["MAX_QASM3_DEPTH", "parse", "parse_versioned", "warm_up"]

logger = logging.getLogger(__name__)

# The ANTLR runtime behind qiskit-qasm3-import shares its DFA caches between parser instances and is
# not documented as thread-safe; the GIL serialises it anyway, so a lock costs no throughput.
_QASM3_LOCK = threading.Lock()

_QASM2_LOCATED = re.compile(r"(?P<file>[^\n]*?):(?P<line>\d+),(?P<column>\d+): (?P<message>.*)", re.DOTALL)
_QASM3_LOCATED = re.compile(r"(?P<line>\d+),(?P<column>\d+): (?P<message>.*)", re.DOTALL)
# The standard importer hits Python's recursion limit below 250 nested parentheses (100 nested `if`), after
# seconds of work on a long text; refusing deeper nesting up front answers in microseconds.
MAX_QASM3_DEPTH = 256
_ANTLR_LOCATED = re.compile(r"L(?P<line>\d+):C(?P<column>\d+): (?P<message>.*)", re.DOTALL)

_WARM_UP_PROGRAM = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
rz(theta) q[1];
c = measure q;
"""
_WARM_UP_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0],q[1];
measure q -> c;
"""


def parse(text: str, *, require_header: bool = True, circuit_index: int | None = None) -> QuantumCircuit:
    """Parse OpenQASM 2 or 3 ``text`` into a circuit.

    ``require_header=False`` accepts a text without a version statement as OpenQASM 3 (a
    submission); a driver keeps the default. ``circuit_index`` is copied into the error.
    """
    return parse_versioned(text, require_header=require_header, circuit_index=circuit_index)[1]


def parse_versioned(
    text: str, *, require_header: bool = True, circuit_index: int | None = None
) -> tuple[QasmVersion, QuantumCircuit]:
    """Like :func:`parse`, also returning the OpenQASM major version of the text."""
    try:
        if first_statement(text) is None:
            raise QasmParseError(PARSE_PREFIX + "the circuit is empty")
        version = detect_version(text, require_header=require_header)
        circuit = _load_qasm2(text) if version == 2 else _load_qasm3(text)
    except QasmParseError as exc:
        exc.circuit_index = circuit_index
        raise
    return version, circuit


def warm_up() -> None:
    """Pay the first-call cost of both parsers now rather than on a user's circuit.

    The OpenQASM 3 importer builds its ANTLR caches on first use (``executors.md`` E-4.3 measured
    about 200 ms including the import of ``qiskit_qasm3_import``, which this module already does).
    """
    parse(_WARM_UP_QASM2)
    parse(_WARM_UP_PROGRAM)


def _failure(message: str, line: int | None = None, column: int | None = None) -> QasmParseError:
    message = message.strip().replace("out-of-range", "out of range")
    message = message.replace("\r", "\\r").replace("\n", "\\n")  # one line, even for a quoted token
    return QasmParseError(PARSE_PREFIX + message, line=line, column=column)


def _error_text(exc: BaseException) -> str:
    """The message of an exception without the quotes ``str()`` adds to Qiskit errors."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) else str(exc)


def _load_qasm2(text: str) -> QuantumCircuit:
    try:
        return qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS, include_path=())
    except qiskit.qasm2.QASM2ParseError as exc:
        message = _error_text(exc)
        located = _QASM2_LOCATED.fullmatch(message)
        if located is not None and located.group("file") == "<input>":
            raise _failure(
                located.group("message"), int(located.group("line")), int(located.group("column")) + 1
            ) from exc
        raise _failure(message) from exc
    except Exception as exc:
        raise _failure(f"{type(exc).__name__}: {_error_text(exc)}") from exc


def _check_nesting(text: str) -> None:
    """Refuse brackets nested deeper than the importer can take, before it spends seconds failing."""
    offset = nesting_overflow(text, MAX_QASM3_DEPTH)
    if offset is not None:
        raise _failure(f"brackets are nested more than {MAX_QASM3_DEPTH} deep", *position(text, offset))


def _load_qasm3(text: str) -> QuantumCircuit:
    _check_nesting(text)
    try:
        with _QASM3_LOCK:
            return qiskit.qasm3.loads(text)
    except RecursionError as exc:
        raise _failure("expressions or blocks are nested too deeply") from exc
    except qiskit.qasm3.QASM3ImporterError as exc:
        message = _error_text(exc)
        located = _QASM3_LOCATED.fullmatch(message)
        if located is not None:
            line, column = _importer_position(text, int(located.group("line")), int(located.group("column")))
            raise _failure(located.group("message"), line, column) from exc
        raise _unlocated(text, message) from exc
    except openqasm3.parser.QASM3ParsingError as exc:
        located = _ANTLR_LOCATED.fullmatch(str(exc))
        if located is not None:
            line, column = int(located.group("line")), int(located.group("column")) + 1
            raise _failure(located.group("message"), line, column) from exc
        raise _unlocated(text, "", syntax=True, stopped_at=_antlr_stop(exc)) from exc
    except IndexError as exc:
        raise _unlocated(text, str(exc) or "index out of range", out_of_range=True) from exc
    except CircuitError as exc:
        raise _unlocated(text, _error_text(exc)) from exc
    except Exception as exc:
        raise _unlocated(text, f"{type(exc).__name__}: {_error_text(exc)}") from exc


def _importer_position(text: str, line: int, column: int) -> tuple[int, int]:
    """1-based position from the importer's (1-based line, 0-based column).

    For an undefined symbol used as an operand, the importer's "column" is the offset from the
    start of the text; it is recognised by pointing past the end of its line into that same line.
    """
    lines = text.split("\n")
    if 1 <= line <= len(lines) and column > len(lines[line - 1]):
        start = sum(len(previous) + 1 for previous in lines[: line - 1])
        if start <= column <= start + len(lines[line - 1]):
            return line, column - start + 1
    return line, column + 1


class _Stop(NamedTuple):
    """Where ANTLR's bail-out strategy gave up: 1-based position and the token it could not use."""

    line: int
    column: int
    token: str


def _antlr_stop(exc: BaseException) -> _Stop | None:
    cancelled = exc.__cause__
    recognition = cancelled.args[0] if cancelled is not None and cancelled.args else None
    token = getattr(recognition, "offendingToken", None)
    line, column = getattr(token, "line", None), getattr(token, "column", None)
    if isinstance(line, int) and isinstance(column, int) and line >= 1 and column >= 0:
        text = getattr(token, "text", None)
        return _Stop(line, column + 1, text if isinstance(text, str) else "")
    return None


def _unlocated(
    text: str,
    message: str,
    *,
    syntax: bool = False,
    out_of_range: bool = False,
    stopped_at: _Stop | None = None,
) -> QasmParseError:
    """An error without a position: ask the native parser where it is (E-4.4).

    For a syntax error the native parser only sees the text up to the line where the standard
    parser stopped, whose position is the fallback when the native parser cannot be used.
    """
    native = diagnose(text, until_line=stopped_at.line if stopped_at else None)
    native_message = native.message if native is not None else None
    if out_of_range and native_message is not None and "out of range" in native_message:
        message = native_message
    elif syntax or not message:
        message = f"syntax error: {native_message}" if native_message else "syntax error"
    if native is not None and native.line is not None:
        return _failure(message, native.line, native.column)
    if stopped_at is not None:
        if not native_message and stopped_at.token:
            shown = stopped_at.token if len(stopped_at.token) <= 40 else stopped_at.token[:40] + "…"
            message = f"{message} at {shown!r}"
        return _failure(message, stopped_at.line, stopped_at.column)
    return _failure(message)
