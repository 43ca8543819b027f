"""``qpi submit FILE...`` (``client-and-cli.md`` §3.5): one job from OpenQASM 2/3 files or stdin.

Several files make one job, circuits in argument order, each named after its file stem (``stdin``
for ``-``; repeated names get ``-2``, ``-3``). Files are checked locally first (readable, UTF-8,
non-empty, under the body limit); syntax errors come from the server and are shown as
``FILE:LINE:COL: message``. ``--no-wait`` prints the job id alone (scriptable).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, fail, run
from qpi.cli.client.histogram import DEFAULT_TOP
from qpi.errors import APIError, InvalidInputError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient

__all__ = ["SourceFile", "read_sources", "submit"]

#: the server's default ``--max-body-size``; a larger submission would be refused with 413
MAX_BODY = 64 * 1024 * 1024
_PARAMETRISED = re.compile(r"^\s*input\s+(float|angle)\b", re.MULTILINE)
_LOCATED = re.compile(r"^circuits\[(\d+)\]\.circuit: line (\d+)(?:, column (\d+))?: (.*)$", re.DOTALL)


@dataclass(frozen=True)
class SourceFile:
    name: str
    label: str  # as the user wrote it, for messages
    text: str


def read_sources(paths: tuple[str, ...], stdin_text: str | None = None) -> list[SourceFile]:
    """Read and check every FILE (``-`` = stdin, at most once); names unique in the job."""
    if list(paths).count("-") > 1:
        raise InvalidInputError("'-' (standard input) can be given only once")
    sources: list[SourceFile] = []
    taken: set[str] = set()
    total = 0
    for arg in paths:
        if arg == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            stem, label = "stdin", "<stdin>"
        else:
            path = Path(arg)
            label = arg
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise InvalidInputError(f"{arg}: cannot read: {exc.strerror or exc}") from exc
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"{arg}: not UTF-8 text (byte {exc.start})") from exc
            stem = path.stem or path.name
        if not text.strip():
            raise InvalidInputError(f"{label}: empty file")
        total += len(text.encode("utf-8"))
        if total > MAX_BODY:
            raise InvalidInputError(
                f"the files hold more than {MAX_BODY // (1024 * 1024)} MiB, the server's body limit"
            )
        name, n = stem, 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        sources.append(SourceFile(name=name, label=label, text=text))
    return sources


def parse_params(value: str | None) -> list[list[float]] | None:
    """``--params JSON`` or ``@FILE``: a list of value lists."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"--params: cannot read {value[1:]!r}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"--params is not JSON: {exc}") from exc
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise InvalidInputError("--params must be a list of value lists, e.g. [[0.1, 0.2], [0.3, 0.4]]")
    return data


def _located(error: APIError, sources: list[SourceFile]) -> str | None:
    match = _LOCATED.match(error.detail)
    if error.code != "invalid_circuit" or match is None:
        return None
    index, line, column, message = match.groups()
    label = sources[int(index)].label if int(index) < len(sources) else f"circuit {index}"
    where = f"{label}:{line}:{column}" if column else f"{label}:{line}"
    return f"{where}: {message}"


async def _no_qpu_hint(client: AsyncClient) -> str:
    try:
        qpus = await client.qpus.list()
    except Exception:  # the hint is best effort; the error itself is already known
        return ""
    if not qpus:
        return " (no QPU is registered)"
    listed = ", ".join(f"{q.name} ({q.status}, {q.num_qubits or '?'} qubits)" for q in qpus)
    return f"; QPUs: {listed}"


@click.command("submit", help="Submit OpenQASM 2/3 files (or - for stdin) as one job, wait and show the counts.")
@click.argument("files", nargs=-1, required=True)
@click.option("--shots", type=click.IntRange(min=1), help="Shots per circuit. [default: the server's, 1024]")
@click.option("--wait/--no-wait", default=True, help="Wait for the result (default) or print the job id and exit.")
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up waiting after S seconds (exit 6; the job keeps running).",
)
@click.option("--tag", "tags", multiple=True, help="Tag the job (repeatable).")
@click.option("--name", help="Job name.")
@click.option("--meas-level", type=click.IntRange(0, 2), default=2, show_default=True, help="0 traces, 1 IQ, 2 counts.")
@click.option("--meas-return", type=click.Choice(["single", "avg"]), default="single", show_default=True)
@click.option("--memory", is_flag=True, help="Also return per-shot data.")
@click.option("--params", help="Parameter sets for parametrised circuits: JSON list of value lists, or @FILE.")
@click.option("--idempotency-key", help="Reuse to make re-running this command safe (one job).")
@click.option("--seed", type=int, help="Simulator seed.")
@click.option(
    "--top", type=click.IntRange(min=1), default=DEFAULT_TOP, show_default=True, help="Outcomes shown per circuit."
)
@click.option("--all", "show_all", is_flag=True, help="Show every outcome.")
@client_command(qpu=True)
def submit(
    files: tuple[str, ...],
    shots: int | None,
    wait: bool,
    wait_timeout: float | None,
    tags: tuple[str, ...],
    name: str | None,
    meas_level: int,
    meas_return: str,
    memory: bool,
    params: str | None,
    idempotency_key: str | None,
    seed: int | None,
    top: int,
    show_all: bool,
    inv: Invocation,
) -> None:
    out = inv.out()
    try:
        sources = read_sources(files)
        values = parse_params(params)
    except InvalidInputError as exc:
        fail(out, exc)
    config = inv.config()
    key = idempotency_key or str(uuid.uuid4())

    async def body(client: AsyncClient, out: Out) -> int:
        from qpi.client.errors import ConflictError
        from qpi.client.models import Circuit

        circuits = [
            Circuit(s.text, name=s.name, parameter_values=values if values and _PARAMETRISED.search(s.text) else None)
            for s in sources
        ]
        try:
            job = await client.jobs.submit(
                circuits,
                qpu=config.qpu,
                shots=shots,
                meas_level=meas_level,
                meas_return=meas_return,
                memory=memory,
                name=name,
                tags=list(tags),
                seed=seed,
                idempotency_key=key,
            )
        except APIError as exc:
            located = _located(exc, sources)
            if located is not None:
                exc.detail = located
            elif isinstance(exc, ConflictError) and exc.code == "no_qpu_available":
                exc.detail += await _no_qpu_hint(client)
            raise
        if not wait:
            if out.json:
                out.document(job.to_dict())
            else:
                out.line(job.id)
            return 0
        count = job.num_circuits or len(circuits)
        out.progress(
            f"Submitted job {job.id} ({count} circuit{'s' if count != 1 else ''} × {job.shots} shots) to {job.qpu}"
        )
        from qpi.cli.client.jobview import wait_and_show

        return await wait_and_show(client, out, inv, [job], timeout=wait_timeout, top=None if show_all else top)

    run(inv, body)
