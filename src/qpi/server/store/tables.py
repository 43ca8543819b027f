"""Piccolo table classes for every entity (``api.md`` §4), bound to configured names and an engine.

Table names come from configuration, so the classes are built per store by :func:`build_tables`
with an explicit ``tablename``. The schema itself is created by the checked-in migrations
(``store/migrations``); these classes describe the same columns for Piccolo's query builder, which
the CRUD-style store modules use. Foreign keys are declared in the migrations; here they are
plain text columns, since no query joins through Piccolo.

Timestamps are BIGINT microseconds since the epoch (UTC); QPU time is BIGINT milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from piccolo.columns import BigInt, Boolean, Bytea, Integer, Text
from piccolo.table import Table

from qpi.server.store.names import TableNames

__all__ = ["Tables", "build_tables"]


class UserColumns:
    """The columns of the users table, a mixin: Piccolo copies them into each table class it builds."""

    id = Text(primary_key=True)
    email = Text()
    email_lower = Text(unique=True)
    name = Text(default="")
    password_hash = Text(null=True, default=None)
    role = Text(default="user")
    disabled = Boolean(default=False)
    balance_ms = BigInt(default=0)
    last_login_at = BigInt(null=True, default=None)
    created = BigInt()
    updated = BigInt()


if TYPE_CHECKING:

    class UserTable(UserColumns, Table):
        """What the type checker knows of the users table class :func:`build_tables` makes."""


@dataclass(frozen=True)
class Tables:
    users: type[UserTable]
    sessions: type[Table]
    api_tokens: type[Table]
    qpus: type[Table]
    drivers: type[Table]
    port_allocations: type[Table]
    jobs: type[Table]
    job_tags: type[Table]
    time_slots: type[Table]
    time_requests: type[Table]
    notifications: type[Table]
    notification_targets: type[Table]
    notification_dismissals: type[Table]
    ledger: type[Table]
    events: type[Table]
    late_results: type[Table]
    themes: type[Table]
    idempotency: type[Table]


def build_tables(names: TableNames, engine: Any) -> Tables:
    class User(UserColumns, Table, tablename=names.users, db=engine):
        pass

    class Session(Table, tablename=names.sessions, db=engine):
        id = Text(primary_key=True)
        user_id = Text()
        token_hash = Text(unique=True)
        csrf_token = Text()
        expires_at = BigInt()
        max_expires_at = BigInt()
        last_seen = BigInt()
        ip = Text(default="")
        user_agent = Text(default="")
        created = BigInt()

    class ApiToken(Table, tablename=names.api_tokens, db=engine):
        id = Text(primary_key=True)
        user_id = Text()
        name = Text(default="")
        token_hash = Text(unique=True)
        prefix = Text()
        expires_at = BigInt(null=True, default=None)
        last_used_at = BigInt(null=True, default=None)
        created = BigInt()

    class Qpu(Table, tablename=names.qpus, db=engine):
        id = Text(primary_key=True)
        name = Text(unique=True)
        description = Text(default="")
        num_qubits = Integer(null=True, default=None)
        enabled = Boolean(default=True)
        status = Text(default="offline")
        max_shots = Integer()
        max_circuits = Integer()
        job_timeout_ms = BigInt(null=True, default=None)
        max_attempts = Integer(null=True, default=None)
        on_driver_loss = Text(default="auto")
        max_concurrent = Integer(null=True, default=None)
        bookable = Boolean(default=True)
        device_info = Text(null=True, default=None)
        device_reported_at = BigInt(null=True, default=None)
        last_seen = BigInt(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class Driver(Table, tablename=names.drivers, db=engine):
        id = Text(primary_key=True)
        name = Text()
        qpu_id = Text()
        kind = Text()
        role = Text(default="process")
        language = Text(default="python")
        events = Text(default="[]")
        token_hash = Text(unique=True)
        token_prefix = Text()
        enabled = Boolean(default=True)
        status = Text(default="offline")
        session = Integer(default=0)
        instance_id = Text(default="")
        cert_serial = Text(default="")
        cert_expires_at = BigInt(null=True, default=None)
        reported_name = Text(default="")
        reported_host = Text(default="")
        reported_version = Text(default="")
        reported_executor = Text(default="")
        reported_workers = Integer(default=0)
        workers_ready = Integer(default=0)
        replica = Text(default="")
        last_seen = BigInt(null=True, default=None)
        connected_at = BigInt(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class PortAllocation(Table, tablename=names.port_allocations, db=engine):
        port = Integer(primary_key=True)
        driver_id = Text(unique=True)

    class Job(Table, tablename=names.jobs, db=engine):
        id = Text(primary_key=True)
        seq = BigInt(unique=True)
        owner = Text(null=True, default=None)
        qpu_id = Text(null=True, default=None)
        qpu_name = Text()
        qpu_auto = Boolean(default=False)
        name = Text(null=True, default=None)
        state = Text()
        payload = Text()
        results = Text(null=True, default=None)
        timings = Text(null=True, default=None)
        failure_reason = Text(null=True, default=None)
        error_message = Text(null=True, default=None)
        shots = Integer()
        num_circuits = Integer()
        meas_level = Integer()
        attempt = Integer(default=0)
        rejections = Integer(default=0)
        max_attempts = Integer()
        lease_driver = Text(null=True, default=None)
        lease_open = Boolean(default=False)
        session = Integer(default=0)
        held_seen_at = BigInt(null=True, default=None)
        submitted_at = BigInt()
        dispatched_at = BigInt(null=True, default=None)
        accepted_at = BigInt(null=True, default=None)
        started_at = BigInt(null=True, default=None)
        finished_at = BigInt(null=True, default=None)
        requeued_at = BigInt(null=True, default=None)
        cancel_sent_at = BigInt(null=True, default=None)
        cancelled_by = Text(null=True, default=None)
        last_loss_reason = Text(null=True, default=None)
        duration_ms = BigInt(null=True, default=None)
        charged_ms = BigInt(default=0)
        created = BigInt()
        updated = BigInt()

    class JobTag(Table, tablename=names.job_tags, db=engine):
        job_id = Text(primary_key=True)
        tag = Text()

    class TimeSlot(Table, tablename=names.time_slots, db=engine):
        id = Text(primary_key=True)
        qpu_id = Text(null=True, default=None)
        booked_by = Text()
        start_time = BigInt()
        end_time = BigInt()
        note = Text(default="")
        released_at = BigInt(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class TimeRequest(Table, tablename=names.time_requests, db=engine):
        id = Text(primary_key=True)
        user_id = Text()
        seconds_ms = BigInt()
        status = Text(default="pending")
        requested_reason = Text()
        rejection_reason = Text(null=True, default=None)
        admin_note = Text(default="")
        handled_by = Text(null=True, default=None)
        handled_at = BigInt(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class Notification(Table, tablename=names.notifications, db=engine):
        id = Text(primary_key=True)
        title = Text()
        description = Text(default="")
        severity = Text(default="info")
        start_time = BigInt(null=True, default=None)
        end_time = BigInt(null=True, default=None)
        created_by = Text(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class NotificationTarget(Table, tablename=names.notification_targets, db=engine):
        notification_id = Text(primary_key=True)
        user_id = Text()

    class NotificationDismissal(Table, tablename=names.notification_dismissals, db=engine):
        notification_id = Text(primary_key=True)
        user_id = Text()
        dismissed_at = BigInt()

    class LedgerEntry(Table, tablename=names.ledger, db=engine):
        id = Text(primary_key=True)
        user_id = Text(null=True, default=None)
        kind = Text()
        amount_ms = BigInt()
        balance_after_ms = BigInt()
        job_id = Text(null=True, default=None)
        attempt = Integer(null=True, default=None)
        time_request_id = Text(null=True, default=None)
        actor = Text(null=True, default=None)
        reason = Text(default="")
        created = BigInt()

    class Event(Table, tablename=names.events, db=engine):
        id = BigInt(primary_key=True)
        ts = BigInt()
        type = Text()
        source = Text(default="server")
        qpu = Text(null=True, default=None)
        driver = Text(null=True, default=None)
        job = Text(null=True, default=None)
        user_id = Text(null=True, default=None)
        visibility = Text()
        data = Text(default="{}")

    class LateResult(Table, tablename=names.late_results, db=engine):
        id = Text(primary_key=True)
        job_id = Text()
        attempt = Integer()
        driver_id = Text(null=True, default=None)
        received_at = BigInt()
        reason = Text()
        body = Text()

    class Theme(Table, tablename=names.themes, db=engine):
        id = Text(primary_key=True)
        name = Text()
        is_active = Boolean(default=False)
        site_name = Text(default="")
        tagline = Text(default="")
        logo = Bytea(null=True, default=None)
        logo_type = Text(null=True, default=None)
        favicon = Bytea(null=True, default=None)
        favicon_type = Text(null=True, default=None)
        tokens = Text(default="{}")
        custom_css = Text(default="")
        custom_js = Text(default="")
        created_by = Text(null=True, default=None)
        created = BigInt()
        updated = BigInt()

    class IdempotencyKey(Table, tablename=names.idempotency, db=engine):
        user_id = Text(primary_key=True)
        key = Text()
        fingerprint = Text()
        status = Integer(null=True, default=None)
        response = Bytea(null=True, default=None)
        content_type = Text(null=True, default=None)
        expires_at = BigInt()

    return Tables(
        users=cast("type[UserTable]", User),
        sessions=Session,
        api_tokens=ApiToken,
        qpus=Qpu,
        drivers=Driver,
        port_allocations=PortAllocation,
        jobs=Job,
        job_tags=JobTag,
        time_slots=TimeSlot,
        time_requests=TimeRequest,
        notifications=Notification,
        notification_targets=NotificationTarget,
        notification_dismissals=NotificationDismissal,
        ledger=LedgerEntry,
        events=Event,
        late_results=LateResult,
        themes=Theme,
        idempotency=IdempotencyKey,
    )
