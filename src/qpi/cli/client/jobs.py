"""``qpi jobs list|show|wait|cancel|result`` (``client-and-cli.md`` §3.4)."""

from __future__ import annotations

import csv
import sys
from typing import TYPE_CHECKING, Any

import click

from qpi.cli.client.common import Invocation, client_command, fail, run
from qpi.cli.client.exitcodes import FAILED, OK, exit_code
from qpi.cli.client.formats import format_instant, format_seconds, parse_instant
from qpi.cli.client.histogram import DEFAULT_TOP
from qpi.cli.client.jobview import show_histograms, show_job, wait_and_show
from qpi.errors import InvalidInputError, QPIError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import Job, JobResult

__all__ = ["jobs_group"]

_STATES = ["pending", "dispatched", "running", "completed", "failed", "cancelled"]


@click.group("jobs", help="List, inspect, wait for, cancel jobs and read their results.")
def jobs_group() -> None:
    pass


def _row(job: Job) -> list[object]:
    return [
        job.id,
        job.name,
        job.qpu,
        job.state.value,
        job.num_circuits,
        job.shots,
        format_instant(job.submitted_at),
        format_seconds(job.execution_s) if job.execution_s is not None else None,
    ]


@jobs_group.command("list", help="My jobs, newest first.")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(_STATES), help="Only jobs in this state (repeatable)."
)
@click.option("--qpu", "qpu_filter", help="Only jobs of this QPU (name or id).")
@click.option("--tag", "tags", multiple=True, help="Only jobs with this tag (repeatable; all must match).")
@click.option("--since", help="Only jobs submitted after this time (ISO 8601, or -2h for two hours ago).")
@click.option("--search", help="Substring of the job id or name.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--all", "everything", is_flag=True, help="Every job (all pages).")
@client_command()
def list_jobs(
    states: tuple[str, ...],
    qpu_filter: str | None,
    tags: tuple[str, ...],
    since: str | None,
    search: str | None,
    limit: int,
    everything: bool,
    inv: Invocation,
) -> None:
    out = inv.out()
    try:
        after = parse_instant(since) if since else None
    except InvalidInputError as exc:
        fail(out, exc)

    async def body(client: AsyncClient, out: Out) -> int:
        filters: dict[str, Any] = {
            "state": list(states) or None,
            "qpu": qpu_filter,
            "tag": list(tags) or None,
            "since": after,
            "search": search,
        }
        total: int | None
        if everything:
            jobs = [job async for job in client.jobs.iter(**filters)]
            total = len(jobs)
        else:
            page = await client.jobs.list(limit=limit, **filters)
            jobs, total = page.items, page.total
        if out.json:
            out.document([job.to_dict() for job in jobs])
            return OK
        out.table(["ID", "NAME", "QPU", "STATE", "CIRCUITS", "SHOTS", "CREATED", "DURATION"], [_row(j) for j in jobs])
        if total is not None and total > len(jobs):
            out.notice(f"{len(jobs)} of {total} jobs shown; use --limit or --all for more")
        return OK

    run(inv, body)


@jobs_group.command("show", help="Everything about one job: state, queue position and reason, attempts, charges.")
@click.argument("job_id")
@client_command()
def show(job_id: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        job = await client.jobs.get(job_id)
        if out.json:
            out.document(job.to_dict())
        else:
            show_job(out, job)
        return OK

    run(inv, body)


@jobs_group.command("wait", help="Wait for jobs to finish, then show their counts.")
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--wait-timeout", type=click.FloatRange(min=0, min_open=True), help="Give up after S seconds (exit 6).")
@click.option("--top", type=click.IntRange(min=1), default=DEFAULT_TOP, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show every outcome.")
@client_command()
def wait(job_ids: tuple[str, ...], wait_timeout: float | None, top: int, show_all: bool, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        jobs = [await client.jobs.get(job_id) for job_id in job_ids]
        return await wait_and_show(client, out, inv, jobs, timeout=wait_timeout, top=None if show_all else top)

    run(inv, body)


@jobs_group.command("cancel", help="Cancel jobs (a cancelled job stays cancelled: repeating succeeds).")
@click.argument("job_ids", nargs=-1, required=True)
@client_command()
def cancel(job_ids: tuple[str, ...], inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        codes: list[int] = []
        documents: list[dict[str, Any]] = []
        for job_id in job_ids:
            try:
                job = await client.jobs.cancel(job_id)
            except QPIError as exc:
                codes.append(exit_code(exc))
                detail = exc.detail if hasattr(exc, "detail") else exc.message
                out.error(getattr(exc, "status_code", None), exc.code, str(detail))
                continue
            codes.append(OK)
            documents.append(job.to_dict())
            if not out.json:
                out.line(f"cancelled {job.id}")
        if out.json:
            out.document(documents[0] if len(job_ids) == 1 and documents else documents)
        return next((c for c in codes if c != OK), OK)

    run(inv, body)


def _write_csv(result: JobResult, circuit: int | str | None, memory: bool) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    experiments = [result.experiment(circuit)] if circuit is not None else result.results
    if memory:
        writer.writerow(["circuit", "shot", "outcome"])
        for e in experiments:
            for shot, value in enumerate(e.memory or []):
                writer.writerow([e.name, shot, value])
        return
    writer.writerow(["circuit", "outcome", "count", "probability"])
    for e in experiments:
        total = sum(e.counts.values()) or 1
        for key, count in sorted(e.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            writer.writerow([e.name, key, count, f"{count / total:.6g}"])


def _circuit(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else value


@jobs_group.command("result", help="The result of a finished job: histograms, memory, JSON or CSV.")
@click.argument("job_id")
@click.option("--wait", "wait_first", is_flag=True, help="Wait for the job if it is still active.")
@click.option(
    "--wait-timeout", type=click.FloatRange(min=0, min_open=True), help="With --wait: give up after S seconds."
)
@click.option("--circuit", help="Only this circuit (index or name).")
@click.option("--memory", is_flag=True, help="Per-shot outcomes instead of counts.")
@click.option("--top", type=click.IntRange(min=1), default=DEFAULT_TOP, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Show every outcome.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), help="Output format. [default: table]")
@client_command()
def result(
    job_id: str,
    wait_first: bool,
    wait_timeout: float | None,
    circuit: str | None,
    memory: bool,
    top: int,
    show_all: bool,
    fmt: str | None,
    inv: Invocation,
) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        if wait_first:
            inv.waiting_for[:] = [job_id]
        doc = await client.jobs.result(job_id, wait=wait_first, timeout=wait_timeout)
        inv.waiting_for.clear()
        which = _circuit(circuit)
        if which is not None:
            try:
                doc.experiment(which)
            except (KeyError, IndexError) as exc:
                raise InvalidInputError(str(exc.args[0])) from exc
        chosen = "json" if out.json else (fmt or "table")
        if chosen == "json":
            out.document(doc.to_dict() if which is None else doc.experiment(which).to_dict())
        elif chosen == "csv":
            _write_csv(doc, which, memory)
        elif memory:
            for e in [doc.experiment(which)] if which is not None else doc.results:
                out.line(f"{e.name} · {len(e.memory or [])} shots")
                for shot, value in enumerate(e.memory or []):
                    out.line(f"{shot:>6}  {value}")
                if e.memory is None:
                    out.line("(no memory: submit with --memory)")
        else:
            show_histograms(out, doc, circuit=which, top=None if show_all else top)
        return OK if doc.success else FAILED

    run(inv, body)
