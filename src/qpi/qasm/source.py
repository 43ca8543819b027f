"""Small helpers over OpenQASM source text: positions and bracket nesting."""

from __future__ import annotations

import re

__all__ = ["nesting_overflow", "position"]

_BRACKET = re.compile(r"[()\[\]{}]")


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def nesting_overflow(text: str, limit: int) -> int | None:
    """Offset of the first bracket nested deeper than ``limit``, or None.

    Counts ``()``, ``[]`` and ``{}`` alike, comments included: a conservative bound on the depth
    of the parse tree.
    """
    depth = 0
    for bracket in _BRACKET.finditer(text):
        depth += 1 if bracket.group() in "([{" else -1
        if depth > limit:
            return bracket.start()
    return None
