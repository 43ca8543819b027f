"""The counts histogram of ``qpi submit`` / ``qpi jobs result`` (``client-and-cli.md`` §3.2). Pure.

::

    bell · 2 clbits · 1000 shots
    00  ██████████████████████████████████████████████████  506  50.6%
    11  █████████████████████████████████████████████████   494  49.4%

Keys keep their full width (leading zeros) with a space between classical registers; bars are
scaled to the largest count and the terminal width (at most 50 columns); rows are sorted by count,
ties by key; beyond ``top`` rows the rest is summed on one ``… N other outcomes`` row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["BAR", "DEFAULT_TOP", "MAX_BAR", "histogram_lines", "title_line"]

BAR = "█"
MAX_BAR = 50
MIN_BAR = 10
DEFAULT_TOP = 16


def title_line(name: str, clbits: int, shots: int) -> str:
    return f"{name} · {clbits} clbit{'s' if clbits != 1 else ''} · {shots} shot{'s' if shots != 1 else ''}"


def _space(key: str, sizes: Sequence[int]) -> str:
    if len(sizes) <= 1 or sum(sizes) != len(key):
        return key
    parts, end = [], len(key)
    for size in sizes:
        parts.append(key[end - size : end])
        end -= size
    return " ".join(reversed(parts))


def histogram_lines(
    counts: Mapping[str, int],
    *,
    creg_sizes: Sequence[int] = (),
    width: int = 80,
    top: int | None = DEFAULT_TOP,
) -> list[str]:
    """One line per outcome (``top=None``: all of them)."""
    if not counts:
        return ["(no counts)"]
    total = sum(counts.values())
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = rows if top is None or len(rows) <= top else rows[:top]
    rest = rows[len(shown) :]
    keys = [_space(k, creg_sizes) for k, _ in shown]
    key_width = max(len(k) for k in keys)
    count_width = max(len(str(c)) for _, c in rows)
    if rest:
        count_width = max(count_width, len(str(sum(c for _, c in rest))))
    pcts = [f"{100.0 * c / total:.1f}%" for _, c in shown]
    if rest:
        pcts.append(f"{100.0 * sum(c for _, c in rest) / total:.1f}%")
    pct_width = max(len(p) for p in pcts)
    fixed = key_width + 2 + 2 + count_width + 2 + pct_width
    bar_width = max(MIN_BAR, min(MAX_BAR, width - fixed))
    largest = shown[0][1]
    lines = []
    for key, (_, count), pct in zip(keys, shown, pcts, strict=False):
        length = round(count / largest * bar_width) if largest else 0
        bar = BAR * max(1 if count else 0, length)
        lines.append(f"{key:<{key_width}}  {bar:<{bar_width}}  {count:>{count_width}}  {pct:>{pct_width}}")
    if rest:
        count = sum(c for _, c in rest)
        label = f"… {len(rest)} other outcome{'s' if len(rest) != 1 else ''}"
        lines.append(
            f"{label:<{key_width + 2 + bar_width}}  {count:>{count_width}}  {pct_width and pcts[-1]:>{pct_width}}"
        )
    return lines
