"""Jobs (``api.md`` §2.6, §3): submit, list, read, result, cancel."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from qpi.errors import BadRequestError, ConflictError, NotFoundError
from qpi.server.api.common import (
    USER,
    caller,
    check_query,
    ctx_of,
    page_headers,
    parse_after,
    parse_bool,
    parse_list,
    parse_page,
    parse_sort,
    parse_ts,
)
from qpi.server.api.dto import errors
from qpi.server.api.job_dto import JobOut, job_out, served_results
from qpi.server.auth.principal import Principal
from qpi.server.clock import from_us
from qpi.server.context import ServerContext
from qpi.server.queueing import QueueReader
from qpi.server.scheduling import PendingJob
from qpi.server.store import JobFilter, JobRow
from qpi.server.submit import JobSubmitRequest, submit_job

__all__ = ["ROUTES", "visible_job"]

_LEGACY_STATES = {
    "pending": ("pending",),
    "running": ("dispatched", "running"),
    "completed": ("completed",),
    "failed": ("failed",),
    "cancelled": ("cancelled",),
}
_STATES = ("pending", "dispatched", "running", "completed", "failed", "cancelled")


class CancelOut(msgspec.Struct):
    id: str
    status: str


async def visible_job(ctx: ServerContext, principal: Principal, job_id: str) -> JobRow:
    job = await ctx.store.jobs.get(job_id)
    if job is None or (job.owner != principal.id and not principal.is_superuser):
        raise NotFoundError(f"job {job_id} not found")
    return job


async def _render(
    ctx: ServerContext, jobs: list[JobRow], *, full: bool, known: dict[str, PendingJob] | None = None
) -> list[JobOut]:
    queues = await QueueReader(ctx).for_jobs(jobs, known=known)
    return [job_out(j, queue=queues.get(j.id), full=full) for j in jobs]


@post(
    "/api/jobs",
    guards=USER,
    operation_id="submitJob",
    tags=["jobs"],
    summary="Submit a job",
    responses=errors(400, 403, 404, 409, 422),
)
async def create_job(request: Request[Any, Any, State], data: JSONBody[JobSubmitRequest]) -> Response[JobOut]:
    ctx = ctx_of(request)
    principal = caller(request)
    job = await submit_job(ctx, principal, data)
    payable = principal.is_superuser or principal.user.balance_ms > 0
    pending = PendingJob(
        id=job.id,
        owner=principal.id,
        submitted_at=from_us(job.submitted_at),
        seq=job.seq,
        payable=payable,
        owner_balance_ms=None if principal.is_superuser else principal.user.balance_ms,
    )
    (out,) = await _render(ctx, [job], full=True, known={job.id: pending})
    return Response(out, status_code=201, headers={"Location": f"/api/jobs/{job.id}"})


def _states(q: Any) -> tuple[str, ...]:
    states: list[str] = []
    for s in parse_list(q, "status"):
        if s not in _LEGACY_STATES:
            raise BadRequestError(f"unknown status {s!r}; use {', '.join(_LEGACY_STATES)}", field="status")
        states.extend(_LEGACY_STATES[s])
    for s in parse_list(q, "state"):
        if s not in _STATES:
            raise BadRequestError(f"unknown state {s!r}; use {', '.join(_STATES)}", field="state")
        states.append(s)
    return tuple(dict.fromkeys(states))


@get(
    "/api/jobs",
    guards=USER,
    operation_id="listJobs",
    tags=["jobs"],
    summary="List jobs (own; superusers any)",
    responses=errors(400),
)
async def list_jobs(request: Request[Any, Any, State]) -> Response[list[JobOut]]:
    ctx = ctx_of(request)
    principal = caller(request)
    check_query(request, {"q", "status", "state", "qpu", "tag", "created_after", "created_before", "full", "owner"})
    q = request.query_params
    page = parse_page(request, aliases=True)
    sort = parse_sort(q.get("sort"), ("created", "updated", "finished_at"), "-created")
    owner: str | None = principal.id
    if "owner" in q:
        if not principal.is_superuser:
            raise BadRequestError("only superusers may list other users' jobs", field="owner")
        owner = None if q["owner"] == "*" else q["owner"]
    qpu_id = None
    if "qpu" in q:
        qpu = await ctx.store.qpus.get(q["qpu"])
        if qpu is None:
            return Response([], headers=page_headers(request, page, 0))
        qpu_id = qpu.id
    flt = JobFilter(
        owner=owner,
        q=q.get("q") or None,
        states=_states(q),
        qpu_id=qpu_id,
        tags=parse_list(q, "tag"),
        created_after=parse_after(q["created_after"], "created_after") if "created_after" in q else None,
        created_before=parse_ts(q["created_before"], "created_before") if "created_before" in q else None,
        sort=tuple(sort),
    )
    full = parse_bool(q.get("full"), "full") or False
    rows, total = await ctx.store.jobs.list(flt, full=full, limit=page.limit, offset=page.offset)
    return Response(await _render(ctx, rows, full=full), headers=page_headers(request, page, total))


@get(
    "/api/jobs/{job_id:str}",
    guards=USER,
    operation_id="getJob",
    tags=["jobs"],
    summary="One job",
    responses=errors(404),
)
async def get_job(request: Request[Any, Any, State], job_id: FromPath[str]) -> JobOut:
    ctx = ctx_of(request)
    job = await visible_job(ctx, caller(request), job_id)
    (out,) = await _render(ctx, [job], full=True)
    return out


@get(
    "/api/jobs/{job_id:str}/result",
    guards=USER,
    operation_id="getJobResult",
    tags=["jobs"],
    summary="The Qiskit-compatible result document of a finished job",
    responses=errors(404, 409),
)
async def get_result(request: Request[Any, Any, State], job_id: FromPath[str]) -> dict[str, Any]:
    ctx = ctx_of(request)
    job = await visible_job(ctx, caller(request), job_id)
    if job.state in ("pending", "dispatched", "running"):
        raise ConflictError(f"job {job_id} is {job.state}; its result is not ready yet", code="job_not_finished")
    results = served_results(job)
    if results is None:
        raise ConflictError(f"job {job_id} was {job.state} before producing a result", code="no_results")
    return results


@post(
    "/api/jobs/{job_id:str}/cancel",
    guards=USER,
    operation_id="cancelJob",
    tags=["jobs"],
    summary="Cancel a job",
    status_code=200,
    responses=errors(404, 409),
)
async def cancel_job(request: Request[Any, Any, State], job_id: FromPath[str]) -> CancelOut:
    ctx = ctx_of(request)
    principal = caller(request)
    await visible_job(ctx, principal, job_id)
    outcome = await ctx.store.jobs.cancel(job_id, actor=principal.id, now=ctx.clock.now_us())
    if outcome is None:
        raise NotFoundError(f"job {job_id} not found")
    if outcome.was_state in ("completed", "failed"):
        raise ConflictError(f"job {job_id} already {outcome.was_state}", code="job_finished")
    if outcome.changed:
        ctx.hub.publish(outcome.events)
        if outcome.was_state in ("dispatched", "running"):
            hook = ctx.extras.get("on_job_cancelled")
            if callable(hook):
                await hook(outcome.job)
        elif outcome.job.qpu_id is not None:
            ctx.hub.wake(outcome.job.qpu_id)
    return CancelOut(id=job_id, status="cancelled")


ROUTES = [create_job, list_jobs, get_job, get_result, cancel_job]
