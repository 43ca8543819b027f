"""What every client command shares: its options, the resolved configuration, output, exit codes.

A command is ``@client_command(...)`` and calls :func:`run` with one coroutine taking
``(client, out)``; :func:`run` resolves the configuration (exit 2 on a bad value), checks the
token when the command needs one (exit 3, before any request), runs the coroutine with
``asyncio.run``, and turns whatever it raises into one error message and the exit code of
:mod:`qpi.cli.client.exitcodes`.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from qpi.cli.client.exitcodes import AUTH, INTERRUPTED, OK, USAGE, exit_code
from qpi.cli.client.output import Out
from qpi.cli.options import config_options
from qpi.config import CLIENT_OPTIONS
from qpi.errors import APIError, ConfigError, QPIError

if TYPE_CHECKING:
    from qpi.client.aio import AsyncClient
    from qpi.config import ClientConfig

__all__ = ["Invocation", "client_command", "load_config", "run"]

F = TypeVar("F", bound=Callable[..., Any])

_COMMON_KEYS = ("client_config", "profile", "addr", "api_token", "ca_file", "timeout", "output")


def client_command(*, qpu: bool = False) -> Callable[[F], F]:
    """Add the client options (``--addr``, ``--token``, ``--profile``, ``--ca-file``, ``--timeout``,
    ``--client-config``, ``--output``/``--json``; ``--qpu`` when asked) and ``--quiet``/``--no-color``.

    The command receives ``inv: Invocation`` instead of those options.
    """
    keys = (*_COMMON_KEYS, "qpu") if qpu else _COMMON_KEYS

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, cli_options: dict[str, object], quiet: bool, no_color: bool, **kwargs: Any) -> Any:
            inv = Invocation(
                cli_options=cli_options, quiet=quiet, no_color=no_color or bool(os.environ.get("NO_COLOR"))
            )
            return func(*args, inv=inv, **kwargs)

        wrapped = click.option("--quiet", "-q", is_flag=True, help="No progress output.")(wrapper)
        wrapped = click.option("--no-color", is_flag=True, help="No colours. [env: NO_COLOR]")(wrapped)
        return config_options(CLIENT_OPTIONS, only=keys, json_shortcut=True)(wrapped)  # type: ignore[return-value]

    return decorate


@dataclass
class Invocation:
    """One run of a client command: its flags, and what it is waiting for (for Ctrl-C)."""

    cli_options: dict[str, object]
    quiet: bool = False
    no_color: bool = False
    waiting_for: list[str] = field(default_factory=list)
    _loaded: tuple[ClientConfig, dict[str, str]] | None = None

    def config(self, *, require_profile: bool = True) -> ClientConfig:
        if self._loaded is None:
            self._loaded = load_config(self.cli_options, require_profile=require_profile)
        return self._loaded[0]

    def sources(self) -> dict[str, str]:
        self.config()
        assert self._loaded is not None
        return self._loaded[1]

    def out(self) -> Out:
        config = self.config()
        return Out(json=config.output == "json", quiet=self.quiet, color=not self.no_color)


def load_config(cli_options: dict[str, object], *, require_profile: bool = True) -> tuple[ClientConfig, dict[str, str]]:
    """The client configuration (flags > ``QPI_*`` > profile > defaults); problems exit 2."""
    from qpi.config import load_client

    try:
        return load_client(cli_options, os.environ, cwd=Path.cwd(), require_profile=require_profile)
    except ConfigError as exc:
        json_mode = cli_options.get("output") == "json" or os.environ.get("QPI_OUTPUT", "").lower() == "json"
        out = Out(json=json_mode, quiet=False, color=False)
        out.error(None, "config_error", "; ".join(exc.problems or [exc.message]), lines=exc.problems)
        raise SystemExit(USAGE) from exc


def lean_httpx() -> None:
    """Keep httpx's own command line (``httpx._main``, which imports rich) from loading.

    qpi never runs ``httpx``'s CLI; marking the module absent before httpx is first imported makes
    httpx fall back to its stub and saves every command the import of rich (tens of ms). Only the
    ``qpi`` process is affected, and only when httpx is not loaded yet.
    """
    import sys

    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def open_client(config: ClientConfig, sources: dict[str, str] | None = None) -> AsyncClient:
    lean_httpx()
    from qpi.client.aio import AsyncClient
    from qpi.client.settings import settings_from_config

    return AsyncClient.from_settings(settings_from_config(config, sources))


def report(out: Out, error: BaseException) -> int:
    """Print ``error`` (JSON on stderr in JSON mode) and return its exit code."""
    from qpi.client.errors import WaitTimeoutError

    code = exit_code(error)
    if isinstance(error, APIError):
        out.error(error.status_code, error.code, error.detail)
    elif isinstance(error, QPIError):
        out.error(None, error.code, error.message or type(error).__name__)
    else:
        out.error(None, "internal_error", f"{type(error).__name__}: {error}")
    if isinstance(error, WaitTimeoutError) and error.job is not None:
        out.notice(f"resume with: qpi jobs wait {error.job.id}")
    return code


def run(
    inv: Invocation,
    body: Callable[[AsyncClient, Out], Awaitable[int | None]],
    *,
    need_token: bool = True,
) -> NoReturn:
    """Run ``body`` over a client built from the resolved configuration, then exit."""
    config = inv.config()
    out = inv.out()
    if need_token and not config.api_token:
        out.error(
            None,
            "no_token",
            f"no API token for {config.addr} (profile {config.profile}): run `qpi login`, or set QPI_API_TOKEN",
        )
        raise SystemExit(AUTH)

    async def main() -> int:
        async with open_client(config, inv.sources()) as client:
            return (await body(client, out)) or OK

    try:
        code = asyncio.run(main())
    except KeyboardInterrupt:
        for job_id in inv.waiting_for:
            out.notice(f"job {job_id} continues; resume with: qpi jobs wait {job_id}")
        raise SystemExit(INTERRUPTED) from None
    except (QPIError, OSError) as exc:
        raise SystemExit(report(out, exc)) from exc
    raise SystemExit(code)


def fail(out: Out, error: QPIError) -> NoReturn:
    """Report an error found by the command itself and exit with its code."""
    raise SystemExit(report(out, error))
