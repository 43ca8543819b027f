"""Output of the client commands (``client-and-cli.md`` §3.2).

- Human mode: tables (rich, imported on first use) and text on stdout; notices on stderr.
- JSON mode (``--json``): stdout holds exactly one JSON document, the API's shape; no spinner and no
  colour; errors go to stderr as ``{"status", "error", "detail"}``.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Out"]


@dataclass
class Out:
    json: bool = False
    quiet: bool = False
    color: bool = True

    # -- stdout ----------------------------------------------------------------------------

    def document(self, value: Any) -> None:
        """The one JSON document of a ``--json`` run."""
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()

    def line(self, text: str = "") -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def width(self) -> int:
        return shutil.get_terminal_size((100, 24)).columns

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[object]], *, title: str | None = None) -> None:
        from rich.table import Table

        table = Table(title=title, title_justify="left", box=None, pad_edge=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("-" if cell is None else str(cell) for cell in row))
        self._console().print(table)

    def pairs(self, rows: Sequence[tuple[str, object]]) -> None:
        """A key/value block."""
        width = max((len(k) for k, _ in rows), default=0)
        for key, value in rows:
            self.line(f"{key + ':':<{width + 1}} {'-' if value is None else value}")

    def _console(self) -> Any:
        from rich.console import Console

        console = Console(no_color=not self.color, highlight=False, soft_wrap=False)
        if not console.is_terminal:
            console = Console(no_color=True, highlight=False, width=max(console.width, 160), color_system=None)
        return console

    # -- stderr ----------------------------------------------------------------------------

    def stderr_is_tty(self) -> bool:
        return sys.stderr.isatty()

    def notice(self, text: str) -> None:
        """A human message on stderr (shown unless ``--quiet``; in JSON mode too, as plain text)."""
        if self.quiet:
            return
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def progress(self, text: str) -> None:
        """A status line on stderr: never in JSON mode or with ``--quiet``."""
        if self.json or self.quiet:
            return
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def error(self, status: int | None, code: str, detail: str, *, lines: Sequence[str] | None = None) -> None:
        if self.json:
            sys.stderr.write(json.dumps({"status": status, "error": code, "detail": detail}) + "\n")
        else:
            for text in lines or [detail]:
                sys.stderr.write(f"error: {text}\n")
        sys.stderr.flush()
