"""Every message of the server ↔ driver link (``driver-protocol.md`` §3), as frozen tagged Structs.

One NNG message is one msgpack map ``{type, id, driver, ts, payload}``. The ``type`` key is the
tag of the union :data:`Message`; :func:`decode` turns bytes into one of the classes below, or
into :class:`UnknownMessage` when the tag is not known (forward compatibility, P-3.9).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Literal

import msgspec

from qpi.protocol.payload import DeviceInfo as DeviceInfoDoc
from qpi.protocol.payload import JobPayload, ResultDoc

__all__ = [
    "PROTOCOL_MAJOR",
    "SUPPORTED_PROTOCOLS",
    "CancelJob",
    "CancelJobBody",
    "CancelReason",
    "CryostatReading",
    "CryostatReadingBody",
    "DeviceInfo",
    "Disconnect",
    "DisconnectBody",
    "DisconnectReason",
    "Envelope",
    "Goodbye",
    "GoodbyeBody",
    "Heartbeat",
    "HeartbeatBody",
    "HeldJob",
    "Hello",
    "HelloBody",
    "JobAccepted",
    "JobAcceptedBody",
    "JobDispatch",
    "JobDispatchBody",
    "JobError",
    "JobProgress",
    "JobProgressBody",
    "JobRef",
    "JobRejected",
    "JobRejectedBody",
    "JobResult",
    "JobResultBody",
    "JobStarted",
    "JobStartedBody",
    "JobTimings",
    "Message",
    "Reading",
    "ResultAck",
    "ResultAckBody",
    "ServerHeartbeat",
    "ServerHeartbeatBody",
    "Telemetry",
    "TelemetryBody",
    "UnknownMessage",
    "Welcome",
    "WelcomeBody",
    "decode",
    "encode",
    "new_event_id",
    "utcnow",
]

PROTOCOL_MAJOR = 1
SUPPORTED_PROTOCOLS = frozenset({1})

LinkState = Literal["online", "draining"]
CancelReason = Literal["user", "timeout", "stale", "accept_timeout"]
DisconnectReason = Literal["disabled", "replaced", "token_revoked", "deleted", "server_shutdown", "protocol_error"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class _Body(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=False):
    pass


# --- shared structs (§3.2) -------------------------------------------------------------------


class JobRef(_Body, frozen=True):
    job_id: str
    attempt: int


class HeldJob(_Body, frozen=True):
    job_id: str
    attempt: int
    phase: Literal["accepted", "started"]
    worker: int


class JobError(_Body, frozen=True):
    code: str
    message: str
    retryable: bool = False
    circuit_index: int | None = None
    line: int | None = None
    column: int | None = None
    log_ref: str | None = None


class JobTimings(_Body, frozen=True):
    received_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    transpile_s: float = 0.0
    compile_s: float = 0.0
    execute_s: float = 0.0
    process_s: float = 0.0
    total_s: float = 0.0
    billable_s: float = 0.0


class Reading(_Body, frozen=True):
    value: float | None = None
    unit: str = ""
    status: str = "UNKNOWN"


# --- payloads of each message type (§3.3) -----------------------------------------------------


class HelloBody(_Body, frozen=True):
    session: int
    instance_id: str
    protocol: int = PROTOCOL_MAJOR
    state: LinkState = "online"
    workers_total: int = 0
    workers_ready: int = 0
    held: list[HeldJob] = []
    outbox: list[JobRef] = []
    versions: dict[str, str] = {}
    executor_error: str | None = None


class WelcomeBody(_Body, frozen=True):
    session: int
    server_time: datetime
    cancel: list[JobRef] = []


class HeartbeatBody(_Body, frozen=True):
    seq: int
    state: LinkState = "online"
    workers_total: int = 0
    workers_ready: int = 0
    workers_busy: int = 0
    held: list[HeldJob] = []
    outbox_len: int = 0
    executor_error: str | None = None


class ServerHeartbeatBody(_Body, frozen=True):
    seq: int
    server_time: datetime


class JobDispatchBody(_Body, frozen=True):
    job_id: str
    attempt: int
    qpu_id: str
    payload: JobPayload
    timeout_s: float
    dispatched_at: datetime


class JobAcceptedBody(_Body, frozen=True):
    job_id: str
    attempt: int
    worker: int


class JobRejectedBody(_Body, frozen=True):
    job_id: str
    attempt: int
    reason: Literal["no_free_worker", "draining", "duplicate"]
    detail: str = ""


class JobStartedBody(_Body, frozen=True):
    job_id: str
    attempt: int
    worker: int
    started_at: datetime


class JobProgressBody(_Body, frozen=True):
    job_id: str
    attempt: int
    stage: str
    fraction: float | None = None
    message: str | None = None


class JobResultBody(_Body, frozen=True):
    job_id: str
    attempt: int
    status: Literal["completed", "failed", "cancelled"]
    timings: JobTimings
    result: ResultDoc | None = None
    error: JobError | None = None
    warnings: list[str] = []


class ResultAckBody(_Body, frozen=True):
    job_id: str
    attempt: int
    outcome: Literal["recorded", "duplicate", "stale"]


class CancelJobBody(_Body, frozen=True):
    job_id: str
    attempt: int
    reason: CancelReason


class CryostatReadingBody(_Body, frozen=True):
    readings: dict[str, Reading]
    measured_at: datetime | None = None


class TelemetryBody(_Body, frozen=True):
    kind: str
    readings: dict[str, Reading]
    measured_at: datetime | None = None


class GoodbyeBody(_Body, frozen=True):
    reason: Literal["shutdown", "restart"] = "shutdown"


class DisconnectBody(_Body, frozen=True):
    reason: DisconnectReason
    retry_after_s: float | None = None


# --- the envelope -----------------------------------------------------------------------------


class Envelope(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    forbid_unknown_fields=False,
    tag_field="type",
):
    """Base of every message: ``{type, id, driver, ts, payload}`` (P-3.1)."""

    id: str = msgspec.field(default_factory=new_event_id)
    driver: str = ""
    ts: datetime = msgspec.field(default_factory=utcnow)


class Hello(Envelope, frozen=True, tag="Hello"):
    payload: HelloBody


class Welcome(Envelope, frozen=True, tag="Welcome"):
    payload: WelcomeBody


class Heartbeat(Envelope, frozen=True, tag="Heartbeat"):
    payload: HeartbeatBody


class ServerHeartbeat(Envelope, frozen=True, tag="ServerHeartbeat"):
    payload: ServerHeartbeatBody


class DeviceInfo(Envelope, frozen=True, tag="DeviceInfo"):
    payload: DeviceInfoDoc


class JobDispatch(Envelope, frozen=True, tag="JobDispatch"):
    payload: JobDispatchBody


class JobAccepted(Envelope, frozen=True, tag="JobAccepted"):
    payload: JobAcceptedBody


class JobRejected(Envelope, frozen=True, tag="JobRejected"):
    payload: JobRejectedBody


class JobStarted(Envelope, frozen=True, tag="JobStarted"):
    payload: JobStartedBody


class JobProgress(Envelope, frozen=True, tag="JobProgress"):
    payload: JobProgressBody


class JobResult(Envelope, frozen=True, tag="JobResult"):
    payload: JobResultBody


class ResultAck(Envelope, frozen=True, tag="ResultAck"):
    payload: ResultAckBody


class CancelJob(Envelope, frozen=True, tag="CancelJob"):
    payload: CancelJobBody


class CryostatReading(Envelope, frozen=True, tag="CryostatReading"):
    payload: CryostatReadingBody


class Telemetry(Envelope, frozen=True, tag="Telemetry"):
    payload: TelemetryBody


class Goodbye(Envelope, frozen=True, tag="Goodbye"):
    payload: GoodbyeBody


class Disconnect(Envelope, frozen=True, tag="Disconnect"):
    payload: DisconnectBody


Message = (
    Hello
    | Welcome
    | Heartbeat
    | ServerHeartbeat
    | DeviceInfo
    | JobDispatch
    | JobAccepted
    | JobRejected
    | JobStarted
    | JobProgress
    | JobResult
    | ResultAck
    | CancelJob
    | CryostatReading
    | Telemetry
    | Goodbye
    | Disconnect
)


class UnknownMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A message whose type this side does not know, or whose payload did not decode (P-3.2)."""

    type: str = "?"
    id: str = ""
    driver: str = ""
    payload: msgspec.Raw = msgspec.Raw(b"\xc0")
    error: str = ""


_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)
_raw_decoder = msgspec.msgpack.Decoder(UnknownMessage)


def encode(message: Envelope) -> bytes:
    return _encoder.encode(message)


def decode(data: bytes) -> Message | UnknownMessage:
    """Decode one link message; never raises for a well-formed msgpack map.

    Unknown types and invalid payloads come back as :class:`UnknownMessage` with ``error`` set,
    so the caller can log them and keep the link up (P-3.9, P-3.10).
    """
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        try:
            raw = _raw_decoder.decode(data)
        except msgspec.DecodeError:
            return UnknownMessage(error=f"undecodable message: {exc}")
        return msgspec.structs.replace(raw, error=str(exc))
    except msgspec.DecodeError as exc:
        return UnknownMessage(error=f"undecodable message: {exc}")
