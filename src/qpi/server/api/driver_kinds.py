"""Driver kinds (the catalog of ``api.md`` §2.5), registering a driver, and its set-up snippets."""

from __future__ import annotations

import shlex

import msgspec

from qpi.errors import BadRequestError
from qpi.server.api.driver_dto import Snippets
from qpi.server.auth.secrets import new_api_token, sha256_hex, token_prefix
from qpi.server.context import ServerContext
from qpi.server.store import DriverRow, QpuRow
from qpi.server.store.common import json_dumps

__all__ = ["CATALOG", "DRIVER_KINDS", "EVENT_NAMES", "Kind", "register_driver", "snippets"]


class Kind(msgspec.Struct, frozen=True):
    kind: str
    role: str
    extra: str
    events: list[str]
    options: list[str]


CATALOG: dict[str, Kind] = {
    "mock": Kind(
        "mock", "process", "qpi", ["JobDispatch", "JobResult"], ["seed_simulator", "num_qubits", "optimization_level"]
    ),
    "qiskit_aer": Kind(
        "qiskit_aer",
        "process",
        "qpi[aer]",
        ["JobDispatch", "JobResult"],
        ["method", "seed_simulator", "noise_model", "device_file", "max_parallel_threads", "optimization_level"],
    ),
    "quantify": Kind(
        "quantify",
        "process",
        "qpi[quantify]",
        ["JobDispatch", "JobResult"],
        ["quantify_device_config", "quantify_hardware_config", "is_dummy", "acquisition_timeout"],
    ),
    "qblox": Kind(
        "qblox",
        "process",
        "qpi[qblox]",
        ["JobDispatch", "JobResult"],
        ["quantify_device_config", "quantify_hardware_config", "is_dummy", "acquisition_timeout"],
    ),
    "presto": Kind("presto", "process", "qpi", ["JobDispatch", "JobResult"], []),
    "bluefors_gen1": Kind("bluefors_gen1", "monitor", "qpi", ["CryostatReading"], []),
    "custom": Kind("custom", "process", "", ["JobDispatch", "JobResult", "CryostatReading"], []),
}
DRIVER_KINDS = frozenset(CATALOG)
EVENT_NAMES = frozenset({"JobDispatch", "JobResult", "CryostatReading"})


def snippets(ctx: ServerContext, driver: DriverRow, token: str) -> Snippets:
    kind = CATALOG[driver.kind]
    fingerprint = ctx.tls.fingerprint if ctx.tls else ""
    args = [
        "--qpi-addr",
        ctx.config.public_url,
        "--token",
        token,
        "--ca-fingerprint",
        fingerprint,
        "--name",
        driver.name,
    ]
    if driver.kind == "custom":
        return Snippets(
            install="pipx install qpi",
            stub="qpi driver start " + shlex.join([*args, "--executor", "my_package.my_module:MyExecutor"]),
        )
    args += ["--executor", driver.kind]
    return Snippets(
        systemd="qpi driver install-systemd " + shlex.join(args),
        manual_cli=f"pipx install {shlex.quote(kind.extra)} && qpi driver start " + shlex.join(args),
    )


async def register_driver(
    ctx: ServerContext, *, name: str, qpu: QpuRow, kind: str, events: list[str] | None, enabled: bool, actor: str
) -> tuple[DriverRow, str]:
    if kind not in CATALOG:
        raise BadRequestError(
            f"unknown driver kind {kind!r}; use one of {', '.join(sorted(CATALOG))}", code="unknown_kind", field="kind"
        )
    role = CATALOG[kind].role
    chosen = CATALOG[kind].events
    if kind == "custom":
        if not events:
            raise BadRequestError(
                "custom drivers must list the events they handle", code="events_required", field="events"
            )
        unknown = [e for e in events if e not in EVENT_NAMES]
        if unknown:
            raise BadRequestError(
                f"unknown event {unknown[0]!r}; use JobDispatch, JobResult or CryostatReading",
                code="unknown_event",
                field="events",
            )
        chosen = sorted(set(events))
        role = "process" if "JobDispatch" in chosen else "monitor"
    raw = new_api_token()
    driver = await ctx.store.drivers.create(
        name=name,
        qpu_id=qpu.id,
        kind=kind,
        role=role,
        language="python",
        events=json_dumps(chosen),
        token_hash=sha256_hex(raw),
        token_prefix=token_prefix(raw),
        enabled=enabled,
        now=ctx.clock.now_us(),
    )
    return driver, raw
