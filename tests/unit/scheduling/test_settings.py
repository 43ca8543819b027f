"""SchedulerSettings: defaults of ``scheduling.md`` §0, derived timers, validation, per-QPU overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qpi.errors import ConfigError
from qpi.server.scheduling import (
    BookingLimits,
    SchedulerSettings,
    effective_job_timeout,
    effective_max_attempts,
)


def test_defaults_and_derived_timers() -> None:
    s = SchedulerSettings()
    assert s.idle_threshold == timedelta(seconds=5)
    assert s.job_timeout == timedelta(seconds=300)
    assert s.job_timeout_grace == timedelta(seconds=30)
    assert s.max_attempts == 3
    assert s.job_queue_ttl == timedelta(days=7)
    assert s.offline_after == timedelta(seconds=15)
    assert s.accept_timeout == timedelta(seconds=10)
    assert s.bookings == BookingLimits(
        min_duration=timedelta(minutes=1),
        max_duration=timedelta(hours=12),
        horizon=timedelta(days=30),
        max_upcoming=5,
    )


def test_from_seconds_matches_the_config_units() -> None:
    s = SchedulerSettings.from_seconds(
        idle_threshold=2.5, heartbeat_interval=1, heartbeat_misses=4, job_queue_ttl=0, booking_max_upcoming=0
    )
    assert s.idle_threshold == timedelta(seconds=2.5)
    assert s.offline_after == timedelta(seconds=4)
    assert s.accept_timeout == timedelta(seconds=2)
    assert s.job_queue_ttl == timedelta(0)
    assert s.bookings.max_upcoming == 0


def test_invalid_settings_name_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        SchedulerSettings(heartbeat_interval=timedelta(0), max_attempts=0, idle_threshold=timedelta(seconds=-1))
    assert len(info.value.problems) == 3
    with pytest.raises(ConfigError, match="booking_min_duration must not exceed"):
        BookingLimits(min_duration=timedelta(hours=2), max_duration=timedelta(hours=1))


def test_per_qpu_overrides_read_the_current_server_value() -> None:
    s = SchedulerSettings(job_timeout=timedelta(seconds=60), max_attempts=5)
    assert effective_job_timeout(None, s) == timedelta(seconds=60)
    assert effective_job_timeout(12.5, s) == timedelta(seconds=12.5)
    assert effective_max_attempts(None, s) == 5
    assert effective_max_attempts(1, s) == 1
