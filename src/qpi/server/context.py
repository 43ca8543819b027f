"""Everything a request handler or background loop needs, built once per server process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qpi.server.auth.principal import Authenticator
from qpi.server.auth.ratelimit import TokenBuckets
from qpi.server.clock import Clock
from qpi.server.hub import Hub
from qpi.server.metrics import Metrics
from qpi.server.scheduling import SchedulerSettings
from qpi.server.store import Store

if TYPE_CHECKING:
    from qpi.config import ServeConfig
    from qpi.server.tls import TlsMaterial

__all__ = ["Limits", "ServerContext", "scheduler_settings"]


@dataclass(frozen=True)
class Limits:
    """The rate limiters of ``api.md`` §1.8 (per replica)."""

    api: TokenBuckets
    submit: TokenBuckets
    login: TokenBuckets
    connect: TokenBuckets

    @classmethod
    def from_config(cls, config: ServeConfig, clock: Clock) -> Limits:
        mono = clock.monotonic
        login_per_s = config.login_rate_limit / 60.0
        return cls(
            api=TokenBuckets(config.rate_limit, config.rate_limit * 2, mono),
            submit=TokenBuckets(config.submit_rate_limit, config.submit_rate_limit * 2, mono),
            login=TokenBuckets(login_per_s, float(config.login_rate_limit), mono),
            connect=TokenBuckets(10 / 60.0, 10.0, mono),
        )


def scheduler_settings(config: ServeConfig) -> SchedulerSettings:
    return SchedulerSettings.from_seconds(
        idle_threshold=config.idle_threshold,
        heartbeat_interval=config.heartbeat_interval,
        heartbeat_misses=config.heartbeat_misses,
        job_timeout=config.job_timeout,
        job_timeout_grace=config.job_timeout_grace,
        max_attempts=config.max_attempts,
        job_queue_ttl=config.job_queue_ttl,
        recovery_interval=config.recovery_interval,
        dispatch_poll_interval=config.dispatch_poll_interval,
        on_driver_loss=config.on_driver_loss,  # type: ignore[arg-type]
        time_request_max_pending=config.time_request_max_pending,
        booking_min_duration=config.booking_min_duration,
        booking_max_duration=config.booking_max_duration,
        booking_horizon=config.booking_horizon,
        booking_max_upcoming=config.booking_max_upcoming,
    )


@dataclass
class ServerContext:
    config: ServeConfig
    store: Store
    clock: Clock
    hub: Hub
    limits: Limits
    authenticator: Authenticator
    settings: SchedulerSettings
    tls: TlsMaterial | None = None
    links: Any = None  # server.links.LinkManager once the link layer runs
    metrics: Metrics = field(default_factory=Metrics)
    started_at_us: int = 0
    tasks_healthy: bool = True
    failing_tasks: list[str] = field(default_factory=list)
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, config: ServeConfig, store: Store, clock: Clock, *, tls: TlsMaterial | None = None) -> ServerContext:
        ctx = cls(
            config=config,
            store=store,
            clock=clock,
            hub=Hub(),
            limits=Limits.from_config(config, clock),
            authenticator=Authenticator(store, clock, session_ttl_s=config.session_ttl),
            settings=scheduler_settings(config),
            tls=tls,
            started_at_us=clock.now_us(),
        )
        ctx.hub.on_publish(ctx.metrics.on_events)
        return ctx
