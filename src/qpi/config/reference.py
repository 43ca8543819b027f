"""The option reference (``docs/configuration-reference.md``), rendered from the option tables.

``python -m qpi.config.reference > docs/configuration-reference.md`` rewrites it; a test checks
that the committed file matches the tables, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Sequence

from qpi.config.client_options import CLIENT_OPTIONS
from qpi.config.driver_options import DRIVER_OPTIONS
from qpi.config.serve_options import SERVE_OPTIONS
from qpi.config.spec import OptionSpec

__all__ = ["render_reference"]

_TITLES = (
    ("qpi serve (and qpi db migrate, qpi admin create-superuser)", SERVE_OPTIONS),
    ("qpi driver start (and qpi driver install-systemd)", DRIVER_OPTIONS),
    ("Client: qpi submit, qpi jobs …, qpi.client", CLIENT_OPTIONS),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(spec: OptionSpec) -> str:
    from qpi.cli.options import help_text

    note = help_text(spec).rsplit("[", 1)[-1].rstrip("]")
    part = next((p.strip() for p in note.split(";") if p.strip().startswith(("default:", "required"))), "")
    return part.removeprefix("default:").strip() or "—"


def _table(specs: Sequence[OptionSpec]) -> list[str]:
    rows = ["| flag | variable | file key | default | meaning |", "|---|---|---|---|---|"]
    for spec in specs:
        flags = ", ".join(f"`{f}`" for f in spec.flags)
        env = ", ".join(f"`{e}`" for e in spec.env) or "—"
        key = f"`{spec.key}`" + (f" (alias `{spec.alias}`)" if spec.alias else "") if spec.in_file else "—"
        meaning = spec.help + (" *Not supported yet: giving it stops the command (exit 2).*" if spec.not_yet else "")
        rows.append(f"| {flags} | {env} | {key} | {_cell(_default(spec))} | {_cell(meaning)} |")
    return rows


def render_reference() -> str:
    lines = [
        "# Configuration reference",
        "",
        "Generated from the option tables in `src/qpi/config/` by `python -m qpi.config.reference`;",
        "a test fails when this file and the code disagree. Precedence: command line > environment",
        "> config file > default. `qpi config show [client|serve|driver]` prints the effective values",
        "and where each one came from.",
        "",
    ]
    for title, specs in _TITLES:
        lines += [f"## {title}", "", *_table(specs), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_reference(), end="")
