"""Showing jobs: waiting with progress, histograms of results, job details. Shared by
``qpi submit`` and ``qpi jobs …``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qpi.cli.client.exitcodes import FAILED, OK
from qpi.cli.client.formats import format_instant, format_seconds
from qpi.cli.client.histogram import DEFAULT_TOP, histogram_lines, title_line
from qpi.cli.client.progress import Progress

if TYPE_CHECKING:
    from qpi.cli.client.common import Invocation
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import Job, JobResult

__all__ = ["finished_line", "job_document", "show_histograms", "show_job", "wait_and_show"]


def job_document(job: Job, result: JobResult | None) -> dict[str, Any]:
    doc = job.to_dict()
    doc.pop("results", None)
    if result is not None:
        doc["result"] = result.to_dict()
    return doc


def finished_line(job: Job) -> str:
    queued = None
    if job.submitted_at and (job.started_at or job.dispatched_at):
        queued = ((job.started_at or job.dispatched_at) - job.submitted_at).total_seconds()  # type: ignore[operator]
    total = (job.finished_at - job.submitted_at).total_seconds() if job.finished_at and job.submitted_at else None
    mark = {"completed": "✔", "failed": "✘", "cancelled": "⊘"}.get(job.state.value, "•")
    details = [f"queued {format_seconds(queued)}"] if queued is not None else []
    details.append(f"charged {format_seconds(job.charged_s)}")
    return f"{mark} {job.state.value} in {format_seconds(total)} ({', '.join(details)})"


def show_histograms(
    out: Out, result: JobResult, *, circuit: int | str | None = None, top: int | None = DEFAULT_TOP
) -> None:
    experiments = [result.experiment(circuit)] if circuit is not None else result.results
    for index, experiment in enumerate(experiments):
        if index:
            out.line()
        out.line(title_line(experiment.name, experiment.num_clbits, experiment.shots))
        if not experiment.success:
            out.line(f"failed: {experiment.status}")
            continue
        if experiment.meas_level != 2:
            out.line(f"(meas_level {experiment.meas_level}: no counts; use --format json or --memory)")
            continue
        sizes = [size for _, size in experiment.header.creg_sizes]
        for text in histogram_lines(experiment.counts, creg_sizes=sizes, width=out.width(), top=top):
            out.line(text)


async def wait_and_show(
    client: AsyncClient,
    out: Out,
    inv: Invocation,
    jobs: list[Job],
    *,
    timeout: float | None,  # noqa: ASYNC109 (bounds the whole wait, like jobs.wait)
    top: int | None = DEFAULT_TOP,
) -> int:
    """Wait for each job; print its histograms (human) or the job with its result (JSON).

    The exit code is that of the first job that did not complete.
    """
    from qpi.client.errors import JobError

    codes: list[int] = []
    documents: list[dict[str, Any]] = []
    first_error: JobError | None = None
    for index, job in enumerate(jobs):
        inv.waiting_for[:] = [j.id for j in jobs[index:]]
        with Progress(out, job.id) as progress:
            final = await client.jobs.wait(job, timeout=timeout, on_update=progress.update)
        inv.waiting_for.clear()
        result = None
        try:
            result = await client.jobs.result(final, wait=False)
        except JobError as exc:
            first_error = first_error or exc
            codes.append(FAILED)
        else:
            codes.append(OK)
        documents.append(job_document(final, result))
        if out.json:
            continue
        out.progress(finished_line(final))
        if result is not None:
            if index:
                out.line()
            show_histograms(out, result, top=top)
        else:
            reason = f" ({final.failure_reason})" if final.failure_reason else ""
            out.line(f"job {final.id} {final.state.value}{reason}: {final.error or 'no result'}")
    if out.json:
        out.document(documents[0] if len(documents) == 1 else documents)
    if first_error is not None:
        out.error(None, first_error.code, first_error.message)
    return next((c for c in codes if c != OK), OK)


def show_job(out: Out, job: Job) -> None:
    rows: list[tuple[str, object]] = [
        ("id", job.id),
        ("name", job.name),
        ("state", job.state.value),
        ("qpu", f"{job.qpu} (automatic)" if job.qpu_auto else job.qpu),
        ("circuits", job.num_circuits),
        ("shots", job.shots),
        ("tags", ", ".join(job.tags) or None),
        ("submitted", format_instant(job.submitted_at)),
    ]
    if job.queue is not None:
        rows += [("queue position", job.queue.position), ("waiting", job.queue.text)]
    rows += [
        ("started", format_instant(job.started_at)),
        ("finished", format_instant(job.finished_at)),
        ("attempts", f"{job.attempt} of {job.max_attempts}" if job.max_attempts else job.attempt),
        ("execution", format_seconds(job.execution_s)),
        ("charged", format_seconds(job.charged_s)),
    ]
    if job.failure_reason:
        rows.append(("failure reason", job.failure_reason))
    if job.error:
        rows.append(("error", job.error))
    if job.cancelled_by:
        rows.append(("cancelled by", job.cancelled_by))
    out.pairs(rows)
