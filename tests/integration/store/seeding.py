"""Rows the store tests start from: a payable user, a QPU, pending jobs (written through the store)."""

from __future__ import annotations

from typing import Any

from qpi.server.store import NewJob, Store
from qpi.server.store.common import json_dumps, new_id


async def user_and_qpu(store: Store, *, now: int) -> tuple[Any, Any]:
    """A user with plenty of balance and an enabled, bookable 5-qubit QPU, both freshly named."""
    user = await store.users.create(
        email=f"u{new_id()}@x.org", name="u", password_hash=None, role="user", balance_ms=10**9, now=now, actor=None
    )
    qpu = await store.qpus.create(
        {
            "name": f"q{new_id()}",
            "description": "",
            "num_qubits": 5,
            "enabled": True,
            "max_shots": 1000,
            "max_circuits": 10,
            "on_driver_loss": "auto",
            "bookable": True,
            "max_concurrent": None,
        },
        now=now,
    )
    return user, qpu


async def pending_job(store: Store, owner: str, qpu: Any, *, now: int) -> Any:
    """One pending 10-shot job of ``owner`` on ``qpu``, submitted at ``now``; the job row."""
    job_id = new_id()
    row, _event = await store.jobs.insert(
        NewJob(
            id=job_id,
            owner=owner,
            qpu_id=qpu.id,
            qpu_name=qpu.name,
            qpu_auto=False,
            name=None,
            payload_json=json_dumps({"id": job_id, "circuits": []}),
            shots=10,
            num_circuits=1,
            meas_level=2,
            max_attempts=3,
        ),
        now=now,
        max_pending=None,
    )
    return row
