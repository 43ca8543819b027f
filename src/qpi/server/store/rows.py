"""Typed rows the store returns. Times are integer microseconds since the epoch (UTC)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "BookingRow",
    "DriverRow",
    "EventRow",
    "JobRow",
    "LedgerRow",
    "NotificationRow",
    "QpuRow",
    "SessionRow",
    "TimeRequestRow",
    "TokenRow",
    "UserRow",
]


class _Row(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    pass


class UserRow(_Row, frozen=True):
    id: str
    email: str
    name: str
    role: str
    disabled: bool
    balance_ms: int
    created: int
    updated: int
    password_hash: str | None = None
    last_login_at: int | None = None

    @property
    def is_superuser(self) -> bool:
        return self.role == "superuser"


class SessionRow(_Row, frozen=True):
    id: str
    user_id: str
    token_hash: str
    csrf_token: str
    expires_at: int
    max_expires_at: int
    last_seen: int
    created: int
    ip: str = ""
    user_agent: str = ""


class TokenRow(_Row, frozen=True):
    id: str
    user_id: str
    name: str
    prefix: str
    created: int
    token_hash: str = ""
    expires_at: int | None = None
    last_used_at: int | None = None


class QpuRow(_Row, frozen=True):
    id: str
    name: str
    description: str
    enabled: bool
    status: str
    max_shots: int
    max_circuits: int
    on_driver_loss: Literal["auto", "requeue", "fail"]  # validated by the API and the config loader
    bookable: bool
    created: int
    updated: int
    num_qubits: int | None = None
    job_timeout_ms: int | None = None
    max_attempts: int | None = None
    max_concurrent: int | None = None
    device_info: str | None = None
    device_reported_at: int | None = None
    last_seen: int | None = None


class DriverRow(_Row, frozen=True):
    id: str
    name: str
    qpu_id: str
    kind: str
    role: str
    language: str
    events: str
    token_prefix: str
    enabled: bool
    status: str
    session: int
    instance_id: str
    cert_serial: str
    reported_name: str
    reported_host: str
    reported_version: str
    reported_executor: str
    reported_workers: int
    workers_ready: int
    replica: str
    created: int
    updated: int
    token_hash: str = ""
    cert_expires_at: int | None = None
    last_seen: int | None = None
    connected_at: int | None = None
    port: int | None = None
    qpu_name: str | None = None


class JobRow(_Row, frozen=True):
    id: str
    seq: int
    qpu_name: str
    qpu_auto: bool
    state: str
    shots: int
    num_circuits: int
    meas_level: int
    attempt: int
    rejections: int
    max_attempts: int
    lease_open: bool
    session: int
    submitted_at: int
    charged_ms: int
    created: int
    updated: int
    owner: str | None = None
    qpu_id: str | None = None
    name: str | None = None
    payload: str | None = None
    results: str | None = None
    timings: str | None = None
    failure_reason: str | None = None
    error_message: str | None = None
    lease_driver: str | None = None
    held_seen_at: int | None = None
    dispatched_at: int | None = None
    accepted_at: int | None = None
    started_at: int | None = None
    finished_at: int | None = None
    requeued_at: int | None = None
    cancel_sent_at: int | None = None
    cancelled_by: str | None = None
    last_loss_reason: str | None = None
    duration_ms: int | None = None
    tags: list[str] = []


class LedgerRow(_Row, frozen=True):
    id: str
    kind: str
    amount_ms: int
    balance_after_ms: int
    created: int
    reason: str = ""
    user_id: str | None = None
    job_id: str | None = None
    attempt: int | None = None
    time_request_id: str | None = None
    actor: str | None = None


class EventRow(_Row, frozen=True):
    id: int
    ts: int
    type: str
    source: str
    visibility: str
    data: str
    qpu: str | None = None
    driver: str | None = None
    job: str | None = None
    user_id: str | None = None


class BookingRow(_Row, frozen=True):
    id: str
    booked_by: str
    start_time: int
    end_time: int
    note: str
    created: int
    updated: int
    qpu_id: str | None = None
    released_at: int | None = None
    qpu_name: str | None = None
    booked_by_name: str | None = None
    booked_by_email: str | None = None


class TimeRequestRow(_Row, frozen=True):
    id: str
    user_id: str
    seconds_ms: int
    status: str
    requested_reason: str
    admin_note: str
    created: int
    updated: int
    rejection_reason: str | None = None
    handled_by: str | None = None
    handled_at: int | None = None


class NotificationRow(_Row, frozen=True):
    id: str
    title: str
    description: str
    severity: str
    created: int
    updated: int
    start_time: int | None = None
    end_time: int | None = None
    created_by: str | None = None
