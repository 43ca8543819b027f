"""``qpi qpus list|show`` (``client-and-cli.md`` §3.4). QPUs are public: no token is needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, run
from qpi.cli.client.exitcodes import OK
from qpi.cli.client.formats import format_instant

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import QPU

__all__ = ["qpus_group"]


@click.group("qpus", help="The QPUs of the server, their status and device.")
def qpus_group() -> None:
    pass


def _booked(qpu: QPU) -> str | None:
    if qpu.slot is None:
        return None
    who = "me" if qpu.slot.mine else qpu.slot.user_name or "someone"
    return f"{format_instant(qpu.slot.until, relative=False)} ({who})"


@qpus_group.command("list", help="Every registered QPU with its status and queue.")
@click.option("--online", is_flag=True, help="Only online QPUs.")
@client_command()
def list_qpus(online: bool, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        qpus = await client.qpus.list(status="online" if online else None)
        if out.json:
            out.document([q.to_dict() for q in qpus])
            return OK
        rows = [
            [
                q.name,
                q.status,
                "yes" if q.enabled else "no",
                q.num_qubits,
                q.executor,
                q.pending_jobs,
                q.running_jobs,
                _booked(q),
                format_instant(q.last_seen),
            ]
            for q in qpus
        ]
        columns = ["NAME", "STATUS", "ENABLED", "QUBITS", "EXECUTOR", "PENDING", "RUNNING", "BOOKED UNTIL"]
        out.table([*columns, "LAST HEARTBEAT"], rows)
        return OK

    run(inv, body, need_token=False)


@qpus_group.command("show", help="One QPU: status, limits and device (basis gates, coupling, calibration).")
@click.argument("name")
@client_command()
def show(name: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        q = await client.qpus.get(name)
        if out.json:
            out.document(q.to_dict())
            return OK
        rows: list[tuple[str, object]] = [
            ("name", q.name),
            ("id", q.id),
            ("description", q.description or None),
            ("status", q.status),
            ("enabled", "yes" if q.enabled else "no"),
            ("qubits", q.num_qubits),
            ("executor", q.executor),
            ("drivers online", q.drivers_online),
            ("queue", f"{q.pending_jobs} pending, {q.running_jobs} running"),
            ("booked until", _booked(q)),
            ("last heartbeat", format_instant(q.last_seen)),
            ("bookable", None if q.bookable is None else ("yes" if q.bookable else "no")),
            ("max shots", q.max_shots),
            ("max circuits", q.max_circuits),
            ("max concurrent", q.max_concurrent),
            ("on driver loss", q.on_driver_loss),
        ]
        device = q.device
        if device is None:
            rows.append(("device", "not reported yet (no driver has connected)"))
        else:
            edges = device.coupling_map
            rows += [
                ("simulator", "yes" if device.simulator else "no"),
                ("basis gates", ", ".join(device.basis_gates)),
                ("coupling", "all-to-all" if edges is None else " ".join(f"{a}-{b}" for a, b in edges)),
                ("meas levels", ", ".join(map(str, device.meas_levels))),
                ("calibrated", format_instant(device.calibrated_at)),
                ("reported", format_instant(device.reported_at)),
            ]
        out.pairs(rows)
        return OK

    run(inv, body, need_token=False)
