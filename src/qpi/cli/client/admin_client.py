"""Superuser commands of ``qpi admin`` that go through the API (``client-and-cli.md`` §3.4):
``qpus``, ``drivers``, ``users``, ``notify``, ``time-request``. ``create-superuser`` (on the server
host) lives in :mod:`qpi.cli.admin`."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

from qpi.cli.client.common import Invocation, client_command, fail, run
from qpi.cli.client.exitcodes import OK
from qpi.cli.client.formats import format_instant, format_seconds, parse_instant
from qpi.errors import InvalidInputError

if TYPE_CHECKING:
    from qpi.cli.client.output import Out
    from qpi.client.aio import AsyncClient
    from qpi.client.models import QPU, NewDriver, User

__all__ = ["ADMIN_COMMANDS"]

_KINDS = ["mock", "qiskit_aer", "quantify", "qblox", "presto"]


def _qpu_line(out: Out, q: QPU, verb: str) -> None:
    if out.json:
        out.document(q.to_dict())
    else:
        state = "enabled" if q.enabled else "disabled"
        out.line(f"{verb} QPU {q.name} (id {q.id}): {state}, {q.status}, {q.num_qubits or '?'} qubits")


@click.group("qpus", help="Register, enable/disable and delete QPUs.")
def qpus_admin() -> None:
    pass


@qpus_admin.command("create", help="Register a QPU (its driver is registered with `qpi admin drivers create`).")
@click.argument("name")
@click.option("--qubits", type=click.IntRange(1, 100_000), help="Number of qubits (the driver's report wins).")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@click.option("--description", help="What it is.")
@client_command()
def qpus_create(name: str, qubits: int | None, disabled: bool, description: str | None, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        q = await client.admin.qpus.create(name, num_qubits=qubits, enabled=not disabled, description=description)
        _qpu_line(out, q, "created")
        return OK

    run(inv, body)


@qpus_admin.command("toggle", help="Enable or disable a QPU.")
@click.argument("name")
@click.option("--enable/--disable", "enable", required=True, help="The new state.")
@client_command()
def qpus_toggle(name: str, enable: bool, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        q = await (client.admin.qpus.enable(name) if enable else client.admin.qpus.disable(name))
        _qpu_line(out, q, "updated")
        return OK

    run(inv, body)


@qpus_admin.command("delete", help="Delete a QPU and its drivers.")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Cancel its pending and running jobs first.")
@client_command()
def qpus_delete(name: str, yes: bool, force: bool, inv: Invocation) -> None:
    if not yes:
        click.confirm(f"Delete QPU {name} and its drivers?", abort=True, err=True)

    async def body(client: AsyncClient, out: Out) -> int:
        await client.admin.qpus.delete(name, force=force)
        if out.json:
            out.document({"name": name, "status": "deleted"})
        else:
            out.line(f"deleted QPU {name}")
        return OK

    run(inv, body)


@click.group("drivers", help="Register drivers (one-time token and the ready start command).")
def drivers_admin() -> None:
    pass


def start_command(driver: NewDriver, addr: str) -> str:
    """The ready ``qpi driver start …`` command line for a new driver."""
    args = [
        "--qpi-addr",
        driver.qpi_addr or addr,
        "--token",
        driver.token,
        "--ca-fingerprint",
        driver.ca_fingerprint or "",
        "--name",
        driver.name,
        "--executor",
        driver.kind,
    ]
    return "qpi driver start " + shlex.join(args)


@drivers_admin.command("create", help="Register a driver for a QPU; prints its token once and how to start it.")
@click.argument("name")
@click.option("--qpu", "qpu_name", required=True, help="The QPU it drives (name or id).")
@click.option("--kind", required=True, type=click.Choice(_KINDS), help="Executor kind.")
@client_command()
def drivers_create(name: str, qpu_name: str, kind: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        driver = await client.admin.drivers.create(name, qpu_name, kind)
        if out.json:
            out.document(driver.to_dict())
            return OK
        out.pairs(
            [
                ("driver", f"{driver.name} (id {driver.id})"),
                ("qpu", driver.qpu.name if driver.qpu else qpu_name),
                ("token", driver.token),
                ("ca fingerprint", driver.ca_fingerprint),
            ]
        )
        out.line()
        out.line("Start it next to the QPU with:")
        out.line(f"  {start_command(driver, client.url)}")
        if driver.snippets is not None and driver.snippets.systemd:
            out.line("or install it as a service with:")
            out.line(f"  {driver.snippets.systemd}")
        out.notice("the token is shown once; store it now")
        return OK

    run(inv, body)


@click.group("users", help="List and create users; grant or set their QPU seconds.")
def users_admin() -> None:
    pass


@users_admin.command("list", help="Every user with role and balance.")
@click.option("--search", help="Substring of e-mail or name.")
@client_command()
def users_list(search: str | None, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        users = await client.admin.users.list(q=search)
        if out.json:
            out.document([u.to_dict() for u in users])
            return OK
        rows = [[u.id, u.email, u.name or None, u.role, _balance(u), "yes" if u.disabled else "no"] for u in users]
        out.table(["ID", "EMAIL", "NAME", "ROLE", "BALANCE", "DISABLED"], rows)
        return OK

    run(inv, body)


def _balance(user: User) -> str:
    return "unlimited" if user.unlimited else format_seconds(user.qpu_seconds)


@users_admin.command("create", help="Register a user (a password is generated when none is given).")
@click.argument("email")
@click.option("--name", help="Display name.")
@click.option("--password", help="Initial password (8+ characters).")
@click.option("--role", type=click.Choice(["user", "superuser"]), default="user", show_default=True)
@click.option("--seconds", type=click.FloatRange(0, 1e9), help="Starting balance. [default: the server's]")
@client_command()
def users_create(
    email: str, name: str | None, password: str | None, role: str, seconds: float | None, inv: Invocation
) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        user = await client.admin.users.create(email, password, name=name, role=role, qpu_seconds=seconds)
        if out.json:
            out.document(user.to_dict())
            return OK
        out.line(f"created {user.role} {user.email} (id {user.id}), balance {_balance(user)}")
        if user.initial_password:
            out.line(f"password (shown once): {user.initial_password}")
        return OK

    run(inv, body)


@users_admin.command("grant", help="Add SECONDS to a user's balance (--set: make it the balance).")
@click.argument("email")
@click.argument("seconds", type=click.FloatRange(0, 1e9))
@click.option("--set", "replace", is_flag=True, help="Set the balance instead of adding.")
@click.option("--reason", help="Recorded in the ledger.")
@client_command()
def users_grant(email: str, seconds: float, replace: bool, reason: str | None, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        user = await client.admin.users.find(email)
        users = client.admin.users
        change = await (users.set_balance if replace else users.grant)(user.id, seconds, reason=reason)
        if out.json:
            out.document({**change.to_dict(), "before": user.qpu_seconds, "email": user.email})
        else:
            before, after = format_seconds(user.qpu_seconds), format_seconds(change.qpu_seconds)
            out.line(f"{user.email}: {before} → {after}")
        return OK

    run(inv, body)


@click.command("notify", help="Post a notice to everyone, or to --to users.")
@click.argument("title")
@click.option("--description", default="", help="The text.")
@click.option("--to", "recipients", multiple=True, help="E-mail of a recipient (repeatable). [default: everyone]")
@click.option("--start", help="Shown from (ISO 8601 or +1h).")
@click.option("--end", help="Shown until (ISO 8601 or +1d).")
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]), default="info", show_default=True)
@client_command()
def notify(
    title: str,
    description: str,
    recipients: tuple[str, ...],
    start: str | None,
    end: str | None,
    severity: str,
    inv: Invocation,
) -> None:
    out = inv.out()
    try:
        window = (parse_instant(start) if start else None, parse_instant(end) if end else None)
    except InvalidInputError as exc:
        fail(out, exc)

    async def body(client: AsyncClient, out: Out) -> int:
        targets = [(await client.admin.users.find(email)).id for email in recipients]
        notice = await client.admin.notifications.create(
            title, description, severity=severity, target_users=targets, start_time=window[0], end_time=window[1]
        )
        if out.json:
            out.document(notice.to_dict())
        else:
            audience = ", ".join(recipients) or "everyone"
            out.line(f"posted notice {notice.id} ({notice.severity}) to {audience}")
        return OK

    run(inv, body)


@click.group("time-request", help="Approve or reject requests for QPU seconds.")
def time_request_admin() -> None:
    pass


@time_request_admin.command("list", help="Requests, pending first.")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]))
@client_command()
def time_request_list(status: str | None, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        requests = await client.admin.time_requests.list(status=status)
        if out.json:
            out.document([r.to_dict() for r in requests])
            return OK
        rows = [
            [
                r.id,
                r.user.email if r.user else None,
                format_seconds(r.seconds),
                r.status,
                r.requested_reason,
                format_instant(r.created),
            ]
            for r in requests
        ]
        out.table(["ID", "USER", "SECONDS", "STATUS", "REASON", "CREATED"], rows)
        return OK

    run(inv, body)


@time_request_admin.command("approve", help="Approve: the user is credited the seconds, once.")
@click.argument("request_id")
@click.option("--note", help="A note kept with the request.")
@client_command()
def time_request_approve(request_id: str, note: str | None, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        r = await client.admin.time_requests.approve(request_id, note=note)
        if out.json:
            out.document(r.to_dict())
        else:
            out.line(f"approved {r.id}: {format_seconds(r.seconds)} for {r.user.email if r.user else '?'}")
        return OK

    run(inv, body)


@time_request_admin.command("reject", help="Reject with a reason the user sees.")
@click.argument("request_id")
@click.option("--reason", required=True)
@client_command()
def time_request_reject(request_id: str, reason: str, inv: Invocation) -> None:
    async def body(client: AsyncClient, out: Out) -> int:
        r = await client.admin.time_requests.reject(request_id, reason)
        if out.json:
            out.document(r.to_dict())
        else:
            out.line(f"rejected {r.id}: {reason}")
        return OK

    run(inv, body)


#: added to the ``qpi admin`` group by :mod:`qpi.cli.admin`
ADMIN_COMMANDS: tuple[click.Command, ...] = (qpus_admin, drivers_admin, users_admin, notify, time_request_admin)
