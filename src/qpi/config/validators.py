"""Pure parsers for QPI-specific values: URLs, addresses, fingerprints, table and executor names.

Like :mod:`qpi.config.values`, each raises :class:`~qpi.errors.ConfigError` with a short reason.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from qpi.config.values import parse_str
from qpi.errors import ConfigError

__all__ = [
    "BUILTIN_EXECUTORS",
    "parse_base_url",
    "parse_cidr",
    "parse_database_url",
    "parse_executor",
    "parse_fingerprint",
    "parse_hostname",
    "parse_ip",
    "parse_origin",
    "parse_table_name",
    "url_host",
]

BUILTIN_EXECUTORS = ("mock", "qiskit_aer", "quantify", "qblox", "presto")
_TABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CUSTOM_EXECUTOR = re.compile(rf"{_IDENT}(\.{_IDENT})*:{_IDENT}(\.{_IDENT})*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def parse_table_name(raw: object) -> str:
    """A table name: ``[a-z_][a-z0-9_]{0,62}``."""
    name = parse_str(raw)
    if not _TABLE_NAME.fullmatch(name):
        raise ConfigError("a table name must match [a-z_][a-z0-9_]{0,62}")
    return name


def parse_fingerprint(raw: object) -> str:
    """SHA-256 hex of the CA's DER: case and ``:`` separators ignored → 64 lowercase hex digits."""
    text = parse_str(raw, allow_empty=True).replace(":", "").replace(" ", "").lower()
    if not _HEX64.fullmatch(text):
        raise ConfigError("expected the 64 hex digits of a SHA-256 fingerprint (':' separators allowed)")
    return text


def parse_executor(raw: object) -> str:
    """A built-in executor name (any case) or ``package.module:Class``."""
    text = parse_str(raw)
    if text.lower() in BUILTIN_EXECUTORS:
        return text.lower()
    if _CUSTOM_EXECUTOR.fullmatch(text):
        return text
    raise ConfigError(f"expected one of {', '.join(BUILTIN_EXECUTORS)} or package.module:Class")


def parse_ip(raw: object) -> str:
    """An IPv4 or IPv6 address, normalised (``::0001`` → ``::1``)."""
    try:
        return str(ipaddress.ip_address(parse_str(raw)))
    except ValueError as exc:
        raise ConfigError("expected an IPv4 or IPv6 address") from exc


def parse_hostname(raw: object) -> str:
    """A DNS name (lowercased) or an IP address."""
    text = parse_str(raw).lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in text.split(".")):
        raise ConfigError("expected a DNS name or an IP address")
    return text


def parse_cidr(raw: object) -> str:
    """A network in CIDR notation (a bare address is one host), normalised."""
    try:
        return str(ipaddress.ip_network(parse_str(raw), strict=False))
    except ValueError as exc:
        raise ConfigError("expected a network such as 10.0.0.0/8 or an IP address") from exc


def parse_base_url(raw: object, *, default_scheme: str | None = None) -> str:
    """An ``http://`` or ``https://`` base URL without a trailing ``/``.

    With ``default_scheme``, a URL without a scheme gets it (``host:8090`` → ``http://host:8090``).
    """
    text = parse_str(raw)
    if default_scheme is not None and "://" not in text:
        text = f"{default_scheme}://{text}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError("expected an http:// or https:// URL")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ConfigError(f"invalid URL: {exc}") from exc
    if not host:
        raise ConfigError("the URL has no host")
    if port == 0:
        raise ConfigError("the URL's port must be 1..65535")
    if parts.query or parts.fragment:
        raise ConfigError("a base URL takes no query or fragment")
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"


def parse_origin(raw: object) -> str:
    """A browser origin ``scheme://host[:port]`` (no path), lowercased."""
    url = parse_base_url(raw)
    parts = urlsplit(url)
    if parts.path or parts.username or parts.password:
        raise ConfigError("an origin is scheme://host[:port], without path or user")
    return url.lower()


def parse_database_url(raw: object) -> str:
    """``sqlite:///relative``, ``sqlite:////absolute`` or ``postgresql://user:pass@host:5432/db``."""
    text = parse_str(raw)
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ConfigError("expected sqlite:///FILE or postgresql://USER:PASS@HOST:PORT/DB")
    if scheme == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise ConfigError("expected sqlite:///relative/file or sqlite:////absolute/file")
        return f"sqlite://{rest}"
    if scheme in ("postgresql", "postgres"):
        parts = urlsplit(f"postgresql://{rest}")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ConfigError(f"invalid URL: {exc}") from exc
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError("the PostgreSQL URL has no host")
        return f"postgresql://{rest}"
    raise ConfigError("the scheme must be sqlite:// or postgresql://")


def url_host(host: str) -> str:
    """``host`` as it appears in a URL: IPv6 addresses in brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host
