"""The scheduler's settings: one frozen struct the server builds once from its config.

Durations are :class:`~datetime.timedelta` values, instants are timezone-aware UTC
:class:`~datetime.datetime` values, and QPU time is integer milliseconds (``scheduling.md``
conventions). A zero duration turns a limit off where the spec says so (``job_queue_ttl``, the
booking limits); ``booking_max_upcoming = 0`` means unlimited.

The per-QPU overrides ``job_timeout`` and ``max_attempts`` are *not* copied into a QPU: a null value
means "the server's current option", resolved at use by :func:`effective_job_timeout` and
:func:`effective_max_attempts`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import msgspec

from qpi.errors import ConfigError

__all__ = [
    "BOOKING_PAST_TOLERANCE",
    "MAX_REJECTIONS",
    "BookingLimits",
    "LossPolicy",
    "OnDriverLoss",
    "SchedulerSettings",
    "effective_job_timeout",
    "effective_max_attempts",
]

OnDriverLoss = Literal["auto", "requeue", "fail"]
#: ``on_driver_loss`` once ``auto`` is resolved (§0): at-least-once or at-most-once.
LossPolicy = Literal["requeue", "fail"]

#: B2: a user's booking may start this much before ``now`` (clock skew, form latency).
BOOKING_PAST_TOLERANCE = timedelta(seconds=60)

#: L6: this many polite rejections (``JobRejected``) of one job fail it with ``max_attempts_exceeded``.
MAX_REJECTIONS = 10

_ZERO = timedelta(0)


class BookingLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Limits on users' bookings (B4-B6). Superusers are exempt. Zero turns a limit off."""

    min_duration: timedelta = timedelta(minutes=1)
    max_duration: timedelta = timedelta(hours=12)
    horizon: timedelta = timedelta(days=30)
    max_upcoming: int = 5

    def __post_init__(self) -> None:
        problems = [
            f"booking_{name} must not be negative"
            for name, value in (
                ("min_duration", self.min_duration),
                ("max_duration", self.max_duration),
                ("horizon", self.horizon),
            )
            if value < _ZERO
        ]
        if self.max_upcoming < 0:
            problems.append("booking_max_upcoming must not be negative")
        if self.min_duration > _ZERO and self.max_duration > _ZERO and self.min_duration > self.max_duration:
            problems.append("booking_min_duration must not exceed booking_max_duration")
        if problems:
            raise ConfigError(problems=problems)


class SchedulerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Every server option the pure scheduling functions read (``scheduling.md`` §0, ``config.md`` §2.3).

    Build it once from the server config, e.g.
    ``SchedulerSettings.from_seconds(idle_threshold=cfg.idle_threshold, ...)`` (the config holds
    durations as float seconds).
    """

    idle_threshold: timedelta = timedelta(seconds=5)
    heartbeat_interval: timedelta = timedelta(seconds=5)
    heartbeat_misses: int = 3
    job_timeout: timedelta = timedelta(seconds=300)
    job_timeout_grace: timedelta = timedelta(seconds=30)
    max_attempts: int = 3
    job_queue_ttl: timedelta = timedelta(days=7)
    recovery_interval: timedelta = timedelta(seconds=10)
    dispatch_poll_interval: timedelta = timedelta(seconds=5)
    on_driver_loss: OnDriverLoss = "auto"
    time_request_max_pending: int = 5
    bookings: BookingLimits = BookingLimits()

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("idle_threshold", "job_timeout_grace", "job_queue_ttl"):
            if getattr(self, name) < _ZERO:
                problems.append(f"{name} must not be negative")
        for name in ("heartbeat_interval", "job_timeout", "recovery_interval", "dispatch_poll_interval"):
            if getattr(self, name) <= _ZERO:
                problems.append(f"{name} must be positive")
        if self.heartbeat_misses < 1:
            problems.append("heartbeat_misses must be at least 1")
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if self.time_request_max_pending < 0:
            problems.append("time_request_max_pending must not be negative")
        if self.on_driver_loss not in ("auto", "requeue", "fail"):
            problems.append(f"on_driver_loss must be auto, requeue or fail, not {self.on_driver_loss!r}")
        if problems:
            raise ConfigError(problems=problems)

    @property
    def offline_after(self) -> timedelta:
        """Silence after which a driver is lost: ``heartbeat_misses * heartbeat_interval`` (15 s)."""
        return self.heartbeat_interval * self.heartbeat_misses

    @property
    def accept_timeout(self) -> timedelta:
        """How long a dispatched attempt may stay unaccepted (L1): ``2 * heartbeat_interval`` (10 s)."""
        return self.heartbeat_interval * 2

    @classmethod
    def from_seconds(
        cls,
        *,
        idle_threshold: float = 5.0,
        heartbeat_interval: float = 5.0,
        heartbeat_misses: int = 3,
        job_timeout: float = 300.0,
        job_timeout_grace: float = 30.0,
        max_attempts: int = 3,
        job_queue_ttl: float = 7 * 86400.0,
        recovery_interval: float = 10.0,
        dispatch_poll_interval: float = 5.0,
        on_driver_loss: OnDriverLoss = "auto",
        time_request_max_pending: int = 5,
        booking_min_duration: float = 60.0,
        booking_max_duration: float = 12 * 3600.0,
        booking_horizon: float = 30 * 86400.0,
        booking_max_upcoming: int = 5,
    ) -> SchedulerSettings:
        """Build the settings from durations in float seconds, as the server config holds them."""
        return cls(
            idle_threshold=timedelta(seconds=idle_threshold),
            heartbeat_interval=timedelta(seconds=heartbeat_interval),
            heartbeat_misses=heartbeat_misses,
            job_timeout=timedelta(seconds=job_timeout),
            job_timeout_grace=timedelta(seconds=job_timeout_grace),
            max_attempts=max_attempts,
            job_queue_ttl=timedelta(seconds=job_queue_ttl),
            recovery_interval=timedelta(seconds=recovery_interval),
            dispatch_poll_interval=timedelta(seconds=dispatch_poll_interval),
            on_driver_loss=on_driver_loss,
            time_request_max_pending=time_request_max_pending,
            bookings=BookingLimits(
                min_duration=timedelta(seconds=booking_min_duration),
                max_duration=timedelta(seconds=booking_max_duration),
                horizon=timedelta(seconds=booking_horizon),
                max_upcoming=booking_max_upcoming,
            ),
        )


def effective_job_timeout(qpu_job_timeout_s: float | None, settings: SchedulerSettings) -> timedelta:
    """The job timeout of one attempt: the QPU's override, or the server's current ``--job-timeout``."""
    if qpu_job_timeout_s is None:
        return settings.job_timeout
    return timedelta(seconds=qpu_job_timeout_s)


def effective_max_attempts(qpu_max_attempts: int | None, settings: SchedulerSettings) -> int:
    """The attempt limit (L6): the QPU's override, or the server's current ``--max-attempts``."""
    return settings.max_attempts if qpu_max_attempts is None else qpu_max_attempts
