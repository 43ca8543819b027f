"""When a lease is lost (``scheduling.md`` §4.1-4.2, L0c, L1-L5) and when recovery must wake up (W4).

A lease is ``(job_id, attempt, lease_driver)`` with ``lease_open``; it is renewed by the driver's
liveness, never by per-job writes. The recovery loop (and the listener, inline, for L3 on every
heartbeat) calls :func:`classify_lease` for each job in ``dispatched``/``running`` and hands the
verdict to :func:`~qpi.server.scheduling.outcomes.loss_outcome`. Cancelled jobs whose lease is still
open (T13) go through :func:`cancelled_lease_action` instead.

What the store/listener provides per lease (:class:`LeaseJob`, :class:`LeaseDriver`):

- the job row's ``attempt``, ``state``, ``dispatched_at``, ``accepted_at``, ``started_at``,
  ``cancel_sent_at`` and the attempt's effective ``job_timeout`` (the ``timeout_s`` it was sent with);
- ``named_at``: the receipt time of the latest ``held`` list (``Hello``/``Heartbeat``) or
  ``Hello.outbox`` of the lease driver that named ``(job, attempt)`` (``None``: never);
- the lease driver's ``last_seen``, ``enabled``, whether another instance took over its session
  (``replaced``) and ``last_held_at``, the receipt time of its latest ``held`` list.

A ``held`` list received after ``accepted_at`` that does not name the attempt proves the driver
dropped it (L3): ``JobAccepted``, ``JobResult`` and ``Heartbeat`` travel in order on one link, so a
result would have arrived first. The listener treats ``Hello.outbox`` entries as naming the attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import msgspec

from qpi.server.scheduling._time import require_aware
from qpi.server.scheduling.settings import SchedulerSettings

__all__ = [
    "CancelledLeaseAction",
    "LeaseDriver",
    "LeaseJob",
    "Verdict",
    "cancelled_lease_action",
    "classify_lease",
    "lease_deadline",
    "recovery_wakeup",
    "run_deadline",
    "ttl_deadline",
]

#: L1-L5. ``driver_disabled`` is the ``driver_lost`` verdict of a driver an admin disabled (or deleted).
Verdict = Literal["ok", "undelivered", "driver_lost", "driver_disabled", "timeout"]

#: L0c for a cancelled job with an open lease: keep waiting, close it, or close it and resend ``CancelJob``.
CancelledLeaseAction = Literal["keep", "close", "close_and_resend_cancel"]


class LeaseJob(msgspec.Struct, frozen=True, kw_only=True):
    """An in-flight attempt (state ``dispatched``/``running``, or ``cancelled`` with ``lease_open``)."""

    job_id: str
    attempt: int
    state: Literal["dispatched", "running", "cancelled"]
    dispatched_at: datetime
    job_timeout: timedelta
    accepted_at: datetime | None = None
    started_at: datetime | None = None
    cancel_sent_at: datetime | None = None
    #: Latest receipt of a held list / ``Hello.outbox`` from the lease driver naming this attempt.
    named_at: datetime | None = None


class LeaseDriver(msgspec.Struct, frozen=True, kw_only=True):
    """The lease driver as liveness sees it."""

    id: str
    enabled: bool = True
    last_seen: datetime | None = None
    #: Another instance took over the driver's session (P-2.9), or the driver was deleted / its token rotated.
    replaced: bool = False
    #: Receipt time of the driver's latest ``held`` list (``Hello`` or ``Heartbeat``).
    last_held_at: datetime | None = None


def run_deadline(job: LeaseJob, settings: SchedulerSettings) -> datetime:
    """L4: ``(started_at or dispatched_at) + job_timeout + job_timeout_grace``."""
    base = job.started_at if job.started_at is not None else job.dispatched_at
    return base + job.job_timeout + settings.job_timeout_grace


def _loss_deadline(driver: LeaseDriver, server_started_at: datetime, settings: SchedulerSettings) -> datetime:
    seen = server_started_at if driver.last_seen is None else max(driver.last_seen, server_started_at)
    return seen + settings.offline_after


def _named_since(job: LeaseJob, instant: datetime) -> bool:
    return job.named_at is not None and job.named_at >= instant


def _driver_gone(
    driver: LeaseDriver, now: datetime, server_started_at: datetime, settings: SchedulerSettings
) -> Verdict | None:
    if not driver.enabled:
        return "driver_disabled"
    if driver.replaced or now >= _loss_deadline(driver, server_started_at, settings):
        return "driver_lost"
    return None


def _dropped(job: LeaseJob, driver: LeaseDriver, since: datetime | None) -> bool:
    """A held list received after ``since`` did not name the attempt."""
    if since is None or driver.last_held_at is None or driver.last_held_at <= since:
        return False
    return not _named_since(job, driver.last_held_at)


def classify_lease(
    job: LeaseJob,
    driver: LeaseDriver,
    now: datetime,
    server_started_at: datetime,
    settings: SchedulerSettings,
) -> Verdict:
    """§4.2: the verdict on an attempt in ``dispatched``/``running`` at ``now``; the first matching row wins.

    - L1 ``undelivered``: ``dispatched``, never accepted, ``now >= dispatched_at + accept_timeout`` and no
      held list / outbox since the dispatch named it. Also when the driver is lost (L2) before it ever
      accepted or named the attempt: it never ran, so it is requeued whatever the QPU's policy (§5.2).
    - L2 ``driver_lost`` / ``driver_disabled``: silent for ``offline_after`` counted from
      ``max(last_seen, server_started_at)``, disabled, or replaced by another instance.
    - L3 ``driver_lost``: accepted, and a held list received after ``accepted_at`` does not name it.
    - L4 ``timeout``: ``now >= run_deadline``.
    - L5 ``ok``.
    """
    require_aware(now)
    never_taken = job.accepted_at is None and job.started_at is None and not _named_since(job, job.dispatched_at)
    if job.state == "dispatched" and never_taken and now >= job.dispatched_at + settings.accept_timeout:
        return "undelivered"  # L1
    gone = _driver_gone(driver, now, server_started_at, settings)
    if gone is not None:  # L2
        return "undelivered" if never_taken else gone
    if _dropped(job, driver, job.accepted_at):  # L3
        return "driver_lost"
    if now >= run_deadline(job, settings):  # L4
        return "timeout"
    return "ok"


def cancelled_lease_action(
    job: LeaseJob,
    driver: LeaseDriver,
    now: datetime,
    server_started_at: datetime,
    settings: SchedulerSettings,
) -> CancelledLeaseAction:
    """L0c for a ``cancelled`` job with ``lease_open``.

    The lease closes at the first of: the attempt's ``JobResult`` (applied by the listener), a held list
    received after ``cancel_sent_at`` that no longer names it, the driver going offline (L2), or the
    run deadline L4 (then ``CancelJob`` is sent again).
    """
    require_aware(now)
    if _driver_gone(driver, now, server_started_at, settings) is not None:
        return "close"
    if _dropped(job, driver, job.cancel_sent_at):
        return "close"
    if now >= run_deadline(job, settings):
        return "close_and_resend_cancel"
    return "keep"


def lease_deadline(
    job: LeaseJob, driver: LeaseDriver, server_started_at: datetime, settings: SchedulerSettings
) -> datetime:
    """The earliest instant at which :func:`classify_lease` (or the cancelled-lease rule) may change verdict.

    The accept deadline (while never accepted or named), the driver's loss deadline and the run deadline.
    """
    deadlines = [_loss_deadline(driver, server_started_at, settings), run_deadline(job, settings)]
    if job.state == "dispatched" and job.accepted_at is None and not _named_since(job, job.dispatched_at):
        deadlines.append(job.dispatched_at + settings.accept_timeout)
    return min(deadlines)


def ttl_deadline(submitted_at: datetime, settings: SchedulerSettings) -> datetime | None:
    """T11: ``submitted_at + job_queue_ttl``, or ``None`` when the TTL is off (0)."""
    if settings.job_queue_ttl <= timedelta(0):
        return None
    return submitted_at + settings.job_queue_ttl


def recovery_wakeup(
    now: datetime,
    *,
    leases: Iterable[tuple[LeaseJob, LeaseDriver]],
    oldest_pending_submitted_at: datetime | None,
    server_started_at: datetime,
    settings: SchedulerSettings,
) -> datetime:
    """W4: when the recovery loop must run next.

    The earliest of every open lease's :func:`lease_deadline` (accept, driver loss, run deadline), the
    TTL deadline of the oldest pending job (``MIN(submitted_at) WHERE state = 'pending'``) and
    ``now + recovery_interval``. A deadline already passed gives ``now``: the loop acts at once.
    """
    require_aware(now)
    instants = [now + settings.recovery_interval]
    instants.extend(lease_deadline(job, driver, server_started_at, settings) for job, driver in leases)
    if oldest_pending_submitted_at is not None:
        ttl = ttl_deadline(oldest_pending_submitted_at, settings)
        if ttl is not None:
            instants.append(ttl)
    return max(now, min(instants))
