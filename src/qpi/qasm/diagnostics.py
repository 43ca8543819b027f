"""Locating OpenQASM 3 errors that the standard importer reports without a position (E-4.4).

Syntax errors (``openqasm3``'s ``QASM3ParsingError`` with an empty message), bare
``IndexError("index out of range")`` and ``CircuitError`` carry no line. For those, the text is
parsed again with Qiskit's native parser, ``qiskit.qasm3.loads_experimental`` (about 1 ms). That
parser prints its diagnostics (``Error: <message>`` then ``[no file:LINE:COL]``, 1-based) straight
to the process's stdout from Rust code and raises a generic "errors during parsing; see printed
errors", so the output is captured **at the file-descriptor level** (``os.dup2`` of fds 1 and 2
into a temporary file, restored afterwards).

The capture redirects the whole process's fds 1 and 2 for about a millisecond: it is serialised by
a lock, and anything another thread writes to fd 1 or 2 in that window goes to the capture (it is
logged at DEBUG level, not lost silently). The ``ExperimentalWarning`` of ``loads_experimental`` is
silenced with ``warnings.catch_warnings``, which swaps the process-wide filter list for the same
millisecond.

Guards, because the native parser is less robust than the standard one:

- it reads ``include`` files from the file system, so every include other than ``stdgates.inc``
  is blanked out (positions kept) before the re-parse;
- it overflows its stack and kills the process on deep nesting (measured: braces nested 3000
  deep, or 10 000 nested parentheses or chained operators, in a thread), so a text with brackets
  nested more than 100 deep or a statement longer than 1024 characters is not re-parsed;
- it prints one report, echoing the whole source line, per error: a syntax error's text is cut
  after the line where the standard parser stopped, and texts over 64 KiB or with lines over
  1024 characters are not re-parsed.

A text that is not re-parsed keeps the standard parser's position when it has one, else none.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import qiskit.qasm3
from qiskit.exceptions import ExperimentalWarning

from qpi.qasm.source import nesting_overflow

__all__ = ["NativeDiagnosis", "capture_output", "diagnose", "native_parse_is_safe"]

logger = logging.getLogger(__name__)

_CAPTURE_LOCK = threading.Lock()
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DIAGNOSTIC = re.compile(r"^Error: (?P<message>[^\n]*)\n[^\n]*\[no file:(?P<line>\d+):(?P<column>\d+)\]", re.M)
_INCLUDE = re.compile(r'include\s*"(?P<name>[^"]*)"\s*;')
_STATEMENT_END = re.compile(r"[;{}]")

MAX_NATIVE_CHARS = 64 * 1024
MAX_NATIVE_LINE = 1024
MAX_NATIVE_STATEMENT = 1024
MAX_NATIVE_DEPTH = 100


@dataclass(frozen=True, slots=True)
class NativeDiagnosis:
    """What the native parser said about a text: its first located error, or its exception message."""

    message: str | None
    line: int | None = None
    column: int | None = None


def capture_output(func: Callable[[], object]) -> tuple[BaseException | None, str]:
    """Run ``func`` with fds 1 and 2 redirected to a temporary file.

    Returns the exception ``func`` raised (or None) and everything written to either fd.
    ``KeyboardInterrupt`` and ``SystemExit`` propagate after the fds are restored.
    """
    with _CAPTURE_LOCK, tempfile.TemporaryFile() as sink:
        error: BaseException | None = None
        _flush_python_streams()
        saved: dict[int, int | None] = {}
        try:
            for fd in (1, 2):
                try:
                    saved[fd] = os.dup(fd)
                except OSError:  # fd closed (a daemon without stdout): restore it closed
                    saved[fd] = None
                os.dup2(sink.fileno(), fd)
            try:
                func()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # pyo3's PanicException derives from BaseException
                error = exc
        finally:
            _flush_python_streams()
            for fd, copy in saved.items():
                if copy is None:
                    os.close(fd)
                else:
                    os.dup2(copy, fd)
                    os.close(copy)
        sink.seek(0)
        output = sink.read().decode("utf-8", errors="replace")
    return error, output


def _flush_python_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed or broken stream: nothing to flush
            pass


def _blank_includes(text: str) -> str:
    """Replace every include except ``stdgates.inc`` by spaces, keeping line and column positions."""

    def blank(match: re.Match[str]) -> str:
        if match.group("name") == "stdgates.inc":
            return match.group(0)
        return re.sub(r"[^\n]", " ", match.group(0))

    return _INCLUDE.sub(blank, text)


def _load_native(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        qiskit.qasm3.loads_experimental(text)


def native_parse_is_safe(text: str) -> bool:
    """Whether the native parser may see ``text`` without risking a crash or a flood of output."""
    if len(text) > MAX_NATIVE_CHARS:
        return False
    if max(len(line) for line in text.split("\n")) > MAX_NATIVE_LINE:
        return False
    if max(len(statement) for statement in _STATEMENT_END.split(text)) > MAX_NATIVE_STATEMENT:
        return False
    return nesting_overflow(text, MAX_NATIVE_DEPTH) is None


def diagnose(text: str, *, until_line: int | None = None) -> NativeDiagnosis | None:
    """Parse ``text`` with the native OpenQASM 3 parser and report its first error.

    ``until_line`` cuts the text after that (1-based) line: the standard parser stopped there, so
    the first error is at or before it. Returns None when the text is not safe to re-parse (see
    the module docstring); a diagnosis whose ``message`` is None when the native parser accepts it.
    """
    if until_line is not None:
        text = "\n".join(text.split("\n")[:until_line]) + "\n"
    if not native_parse_is_safe(text):
        logger.debug("OpenQASM 3 text not re-parsed by the native parser: too large or too deeply nested")
        return None
    safe = _blank_includes(text)
    error, output = capture_output(lambda: _load_native(safe))
    if output:
        logger.debug("native OpenQASM 3 parser output: %s", output)
    if error is None:
        return NativeDiagnosis(None)
    found = _DIAGNOSTIC.search(_ANSI.sub("", output))
    if found is not None:
        return NativeDiagnosis(found.group("message").strip(), int(found.group("line")), int(found.group("column")))
    message = getattr(error, "message", None)
    if not isinstance(message, str):
        message = str(error)
    return NativeDiagnosis(message.strip() or type(error).__name__)
