"""Typed, frozen models of everything the API returns (``client-and-cli.md`` §1.2).

Decoding ignores unknown fields, datetimes are timezone-aware UTC, seconds are floats, and
``to_dict()`` gives back the server's own JSON document.
"""

from __future__ import annotations

from qpi.client.models._base import Model
from qpi.client.models.account import Account, APIToken, BalanceChange, LedgerEntry, NewAPIToken, NewUser, User
from qpi.client.models.admin import Driver, DriverToken, NewDriver, Reported, Snippets, TelemetrySeries
from qpi.client.models.events import Event
from qpi.client.models.inputs import Circuit
from qpi.client.models.jobs import FINAL, Job, JobState, QueueInfo, job_from_api, queue_from_api
from qpi.client.models.page import Page
from qpi.client.models.qpus import QPU, DeviceInfo, GateProps, QubitProps, Slot, qpu_from_api
from qpi.client.models.results import CircuitResult, JobResult, ResultHeader, Timings, result_from_api, space_key
from qpi.client.models.scheduling import Booking, Notification, QpuRef, TimeRequest, UserRef

__all__ = [
    "FINAL",
    "QPU",
    "APIToken",
    "Account",
    "BalanceChange",
    "Booking",
    "Circuit",
    "CircuitResult",
    "DeviceInfo",
    "Driver",
    "DriverToken",
    "Event",
    "GateProps",
    "Job",
    "JobResult",
    "JobState",
    "LedgerEntry",
    "Model",
    "NewAPIToken",
    "NewDriver",
    "NewUser",
    "Notification",
    "Page",
    "QpuRef",
    "QubitProps",
    "QueueInfo",
    "Reported",
    "ResultHeader",
    "Slot",
    "Snippets",
    "TelemetrySeries",
    "TimeRequest",
    "Timings",
    "User",
    "UserRef",
    "job_from_api",
    "qpu_from_api",
    "queue_from_api",
    "result_from_api",
    "space_key",
]
