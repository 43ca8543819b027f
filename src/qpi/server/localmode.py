"""All-in-one local mode: ``qpi serve --local-qpu aer|mock`` (``config.md`` §3).

On every start: a superuser ``admin@localhost``, an enabled QPU ``--local-qpu-name`` with one driver
of kind ``qiskit_aer`` or ``mock`` (its token kept in ``<data-dir>/local/driver.json``, mode 0600),
and a ``qpi driver start`` child process over the real protocol on 127.0.0.1, restarted with
backoff if it exits. On the first run an API token for the admin goes into the client
configuration as profile ``local``, so ``qpi submit circuit.qasm`` works right away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from qpi.server.auth.secrets import new_api_token, random_password, sha256_hex, token_prefix
from qpi.server.context import ServerContext

__all__ = ["LocalSetup", "ensure_local", "run_local_driver"]

logger = logging.getLogger(__name__)

ADMIN_EMAIL = "admin@localhost"
#: Set by local mode for its driver child: the server's pid, which the driver watches (driver/daemon.py).
PARENT_ENV = "QPI_LOCAL_SERVER_PID"
_KINDS = {"aer": "qiskit_aer", "mock": "mock"}


@dataclass(frozen=True)
class LocalSetup:
    qpu_name: str
    kind: str
    driver_id: str
    driver_token: str
    admin_password: str | None  # set only on the run that created the admin
    api_token: str | None  # set only when minted now
    profile_file: Path | None


def _write_secret(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


async def ensure_local(ctx: ServerContext) -> LocalSetup:
    from qpi.server.api.drivers import register_driver
    from qpi.server.api.users import create_user

    config = ctx.config
    assert config.local_qpu is not None
    kind = _KINDS[config.local_qpu]
    store = ctx.store
    now = ctx.clock.now_us()
    admin = await store.users.get_by_email(ADMIN_EMAIL)
    password = None
    if admin is None:
        password = random_password()
        admin, _ = await create_user(
            ctx, email=ADMIN_EMAIL, name="Local admin", password=password, role="superuser", qpu_seconds=0, actor=None
        )
    qpu = await store.qpus.get(config.local_qpu_name)
    if qpu is None:
        qpu = await store.qpus.create(
            {
                "name": config.local_qpu_name,
                "description": f"Local {kind} simulator",
                "num_qubits": None,
                "enabled": True,
                "max_shots": config.max_shots,
                "max_circuits": config.max_circuits_per_job,
                "on_driver_loss": "auto",
                "bookable": True,
            },
            now=now,
        )
    elif not qpu.enabled:
        await store.qpus.update(qpu.id, {"enabled": True}, now=now)
    secret_file = config.data_dir / "local" / "driver.json"
    saved = json.loads(secret_file.read_text()) if secret_file.exists() else {}
    driver = await store.drivers.get(saved.get("driver_id", "")) if saved else None
    token = saved.get("token", "")
    if driver is None or driver.kind != kind or await store.drivers.by_token_hash(sha256_hex(token)) is None:
        if driver is not None:
            await store.drivers.delete(driver.id)
        driver, token = await register_driver(
            ctx, name=f"{config.local_qpu_name}-driver", qpu=qpu, kind=kind, events=None, enabled=True, actor=admin.id
        )
        _write_secret(secret_file, {"driver_id": driver.id, "token": token})
    elif not driver.enabled:
        await store.drivers.update(driver.id, {"enabled": True}, now=now)
    api_token, profile_file = await _client_profile(ctx, admin.id, first_run=password is not None)
    return LocalSetup(
        qpu_name=config.local_qpu_name,
        kind=kind,
        driver_id=driver.id,
        driver_token=token,
        admin_password=password,
        api_token=api_token,
        profile_file=profile_file,
    )


async def _client_profile(ctx: ServerContext, admin_id: str, *, first_run: bool) -> tuple[str | None, Path | None]:
    """Mint an API token for the admin and store it as client profile ``local`` (first run only)."""
    from qpi.config import client_config_dir, save_profile

    directory = client_config_dir(os.environ, platform=sys.platform, home=Path.home(), cwd=Path.cwd())
    path = Path(os.environ.get("QPI_CLIENT_CONFIG") or directory / "config.toml")
    if not first_run:
        return None, path
    raw = new_api_token()
    await ctx.store.credentials.create_token(
        user_id=admin_id,
        name="local-mode",
        token_hash=sha256_hex(raw),
        prefix=token_prefix(raw),
        expires_at=None,
        now=ctx.clock.now_us(),
        max_tokens=None,
    )
    existed = path.exists()  # noqa: ASYNC240 - one stat at start-up
    try:
        save_profile(
            path,
            "local",
            {"addr": f"http://127.0.0.1:{ctx.config.server_port}", "api_token": raw},
            make_current=not existed,
        )
    except OSError as exc:
        logger.warning("could not write the client configuration %s: %s", path, exc)
        return raw, None
    return raw, path


def driver_command(ctx: ServerContext, setup: LocalSetup) -> list[str]:
    config = ctx.config
    assert ctx.tls is not None
    return [
        sys.executable,
        "-m",
        "qpi",
        "driver",
        "start",
        "--qpi-addr",
        f"http://127.0.0.1:{config.server_port}",
        "--token",
        setup.driver_token,
        "--ca-fingerprint",
        ctx.tls.fingerprint,
        "--ca-file",
        str(config.data_dir / "local" / "driver" / "qpi.ca.pem"),
        "--data-dir",
        str(config.data_dir / "local" / "driver"),
        "--executor",
        setup.kind,
        "--name",
        setup.qpu_name,
        "--workers",
        str(config.local_qpu_workers),
        "--reconnect-min",
        "0.2s",
        "--reconnect-max",
        "5s",
        "--log-level",
        config.log_level,
        "--log-format",
        config.log_format,
    ]


async def run_local_driver(ctx: ServerContext, setup: LocalSetup) -> None:
    """The driver child process, restarted with backoff when it exits; stopped with the server."""
    delay = 1.0
    env = {k: v for k, v in os.environ.items() if not k.startswith("QPI_")}
    env[PARENT_ENV] = str(os.getpid())  # the child stops itself if this server dies without stopping it
    while True:
        # its own session: a Ctrl-C in the terminal reaches the server, which stops the driver gracefully
        process = await asyncio.create_subprocess_exec(*driver_command(ctx, setup), env=env, start_new_session=True)
        logger.info("local driver started (pid %d)", process.pid)
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), timeout=ctx.config.shutdown_timeout)
                except TimeoutError:
                    process.kill()
                    await process.wait()
            raise
        logger.warning("local driver exited with code %s; restarting in %.0f s", code, delay)
        await asyncio.sleep(delay)
        delay = min(60.0, delay * 2)
