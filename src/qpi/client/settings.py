"""Resolving the client's settings once, at construction (``client-and-cli.md`` §1.1).

First found wins: argument → variable (``QPI_ADDR``, ``QPI_API_TOKEN``, ``QPI_CLIENT_CA_FILE``,
``QPI_TIMEOUT``, ``QPI_PROFILE``) → the profile in the client file → default. The loading itself
is :func:`qpi.config.load_client` (the same loader ``qpi config show`` uses); this module only
turns library arguments into its input and its output into :class:`ClientSettings`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qpi.config import ClientConfig

__all__ = ["DEFAULT_TIMEOUT", "ClientSettings", "Verify", "mask_token", "resolve_settings", "settings_from_config"]

DEFAULT_TIMEOUT = 30.0

#: What ``verify`` accepts: True (system trust), False (no check), a CA file, or an SSLContext.
Verify = bool | str | Path | ssl.SSLContext


@dataclass(frozen=True)
class ClientSettings:
    """The resolved configuration of one client. ``token`` never appears in ``repr``."""

    url: str
    token: str | None = field(repr=False)
    profile: str
    timeout: float
    verify: Verify
    sources: Mapping[str, str] = field(default_factory=dict)
    timeout_detail: Any = None  # an httpx.Timeout given by the caller, used as is

    @property
    def token_hint(self) -> str | None:
        return mask_token(self.token)


def mask_token(token: str | None) -> str | None:
    """``qpi_ab12…``: the prefix of a token, never the secret."""
    if not token:
        return None
    return token[: min(8, len(token) // 2)] + "…"


def settings_from_config(config: ClientConfig, sources: Mapping[str, str] | None = None) -> ClientSettings:
    """The settings of a :class:`~qpi.config.ClientConfig` loaded by :func:`qpi.config.load_client`."""
    return ClientSettings(
        url=config.addr,
        token=config.api_token or None,
        profile=config.profile,
        timeout=config.timeout,
        verify=config.ca_file if config.ca_file is not None else True,
        sources=dict(sources or {}),
    )


def resolve_settings(
    *,
    url: str | None,
    token: str | None,
    profile: str | None,
    timeout: float | Any | None,
    verify: Verify | None,
    env: Mapping[str, str],
    cwd: Path,
    read_file: Callable[[Path], str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
) -> ClientSettings:
    """Arguments, an environment mapping and the file reader → :class:`ClientSettings`.

    Raises :class:`~qpi.errors.ConfigError` for a bad value, an unreadable file or a profile the
    file lacks (one line per problem).
    """
    from qpi.config import load_client

    cli: dict[str, object] = {}
    if url is not None:
        cli["addr"] = url
    if token is not None:
        cli["api_token"] = token
    if profile is not None:
        cli["profile"] = profile
    detail = None
    if timeout is not None:
        if isinstance(timeout, int | float | str):
            cli["timeout"] = timeout
        else:
            detail = timeout
    config, sources = load_client(cli, env, cwd=cwd, read_file=read_file, platform=platform, home=home)
    chosen: Verify
    if verify is not None:
        chosen = verify
        sources = {**sources, "ca_file": "argument"}
    elif config.ca_file is not None:
        chosen = config.ca_file
    else:
        chosen = True
    for key, arg in (("addr", url), ("api_token", token), ("profile", profile), ("timeout", timeout)):
        if arg is not None:
            sources = {**sources, key: "argument"}
    return ClientSettings(
        url=config.addr,
        token=config.api_token or None,
        profile=config.profile,
        timeout=config.timeout,
        verify=chosen,
        sources=sources,
        timeout_detail=detail,
    )
