"""QPI-specific value checks: URLs, addresses, fingerprints, table and executor names."""

from __future__ import annotations

import pytest

from qpi.config import validators as val
from qpi.errors import ConfigError


def test_table_names() -> None:
    assert val.parse_table_name("quantum_jobs") == "quantum_jobs"
    assert val.parse_table_name("_x9") == "_x9"
    assert val.parse_table_name("a" * 63) == "a" * 63
    for bad in ("Jobs", "9jobs", "jobs-x", "a" * 64, "jobs;drop", ""):
        with pytest.raises(ConfigError):
            val.parse_table_name(bad)


def test_fingerprint_normalised() -> None:
    hexed = "AB" * 32
    colons = ":".join(["Ab"] * 32)
    assert val.parse_fingerprint(hexed) == "ab" * 32
    assert val.parse_fingerprint(colons) == "ab" * 32
    for bad in ("", "ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(ConfigError, match="64 hex digits"):
            val.parse_fingerprint(bad)


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("http://host:8090/", "http://host:8090"),
        ("HTTPS://q.example.org", "https://q.example.org"),
        ("http://[::1]:8090", "http://[::1]:8090"),
        ("http://h/prefix/", "http://h/prefix"),
    ],
)
def test_base_url(raw: str, url: str) -> None:
    assert val.parse_base_url(raw) == url


def test_base_url_default_scheme() -> None:
    assert val.parse_base_url("10.0.0.5:8090/", default_scheme="http") == "http://10.0.0.5:8090"
    with pytest.raises(ConfigError, match="http:// or https://"):
        val.parse_base_url("10.0.0.5:8090")
    for bad in ("ftp://x", "http://", "http://h:99999", "http://h/?q=1"):
        with pytest.raises(ConfigError):
            val.parse_base_url(bad, default_scheme="http")


def test_executor_names() -> None:
    assert val.parse_executor("qiskit_aer") == "qiskit_aer"
    assert val.parse_executor("MOCK") == "mock"
    assert val.parse_executor("my_lab.executors:Fancy") == "my_lab.executors:Fancy"
    for bad in ("aer", "my_lab.executors", "my-lab:X", ":X", "a:"):
        with pytest.raises(ConfigError, match=r"package\.module:Class"):
            val.parse_executor(bad)


def test_addresses() -> None:
    assert val.parse_ip("10.0.0.5") == "10.0.0.5"
    assert val.parse_ip("::0001") == "::1"
    with pytest.raises(ConfigError):
        val.parse_ip("example.org")
    assert val.parse_hostname("Q.Example.ORG.") == "q.example.org"
    assert val.parse_hostname("0.0.0.0") == "0.0.0.0"
    for bad in ("bad host", "-x.org", "a..b"):
        with pytest.raises(ConfigError):
            val.parse_hostname(bad)
    assert val.parse_cidr("10.1.2.3/8") == "10.0.0.0/8"
    assert val.parse_cidr("192.168.0.1") == "192.168.0.1/32"
    with pytest.raises(ConfigError):
        val.parse_cidr("10.0.0.0/33")
    assert val.url_host("::1") == "[::1]"
    assert val.url_host("example.org") == "example.org"


def test_origins() -> None:
    assert val.parse_origin("https://App.Example.org/") == "https://app.example.org"
    for bad in ("*", "https://x.org/path", "https://u:p@x.org"):
        with pytest.raises(ConfigError):
            val.parse_origin(bad)


def test_database_urls() -> None:
    assert val.parse_database_url("sqlite:///data/q.sqlite3") == "sqlite:///data/q.sqlite3"
    assert val.parse_database_url("sqlite:////abs/q.sqlite3") == "sqlite:////abs/q.sqlite3"
    assert val.parse_database_url("postgres://u:p@db:5432/qpi") == "postgresql://u:p@db:5432/qpi"
    for bad in ("mysql://x/y", "sqlite://", "sqlite:///", "postgresql://", "postgresql://h:port/x", "qpi.db"):
        with pytest.raises(ConfigError):
            val.parse_database_url(bad)
