"""Configuration precedence of the library (``client-and-cli.md`` §1.1), one case per row."""

from __future__ import annotations

import logging
import os
import ssl
from pathlib import Path

import pytest

from qpi.client.settings import ClientSettings, mask_token, resolve_settings
from qpi.errors import ConfigError

FILE = """\
profile = "lab"

[profiles.default]
addr = "http://default.example:8090"
api_token = "qpi_default"

[profiles.lab]
addr = "https://lab.example"
api_token = "qpi_lab"
ca_file = "ca/lab.pem"
timeout = "45s"
"""


def write(tmp_path: Path, text: str = FILE, mode: int = 0o600) -> Path:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


def resolve(tmp_path: Path, env: dict[str, str] | None = None, **args: object) -> ClientSettings:
    full = {"QPI_CONFIG_DIR": str(tmp_path / "cfg"), **(env or {})}
    base: dict[str, object] = {"url": None, "token": None, "profile": None, "timeout": None, "verify": None}
    base.update(args)
    return resolve_settings(env=full, cwd=tmp_path, home=tmp_path / "home", platform="linux", **base)  # type: ignore[arg-type]


def test_defaults_without_any_file(tmp_path: Path) -> None:
    s = resolve(tmp_path)
    assert (s.url, s.token, s.profile, s.timeout, s.verify) == ("http://127.0.0.1:8090", None, "default", 30.0, True)


def test_url_argument_beats_variable_beats_profile(tmp_path: Path) -> None:
    write(tmp_path)
    assert resolve(tmp_path).url == "https://lab.example"
    assert resolve(tmp_path, {"QPI_ADDR": "http://env.example"}).url == "http://env.example"
    assert resolve(tmp_path, {"QPI_ADDR": "http://env.example"}, url="http://arg.example").url == "http://arg.example"


def test_token_argument_beats_variable_beats_profile(tmp_path: Path) -> None:
    write(tmp_path)
    assert resolve(tmp_path).token == "qpi_lab"
    assert resolve(tmp_path, {"QPI_API_TOKEN": "qpi_env"}).token == "qpi_env"
    assert resolve(tmp_path, {"QPI_API_TOKEN": "qpi_env"}, token="qpi_arg").token == "qpi_arg"


def test_verify_argument_beats_variable_beats_profile(tmp_path: Path) -> None:
    write(tmp_path)
    assert resolve(tmp_path).verify == tmp_path / "cfg" / "ca" / "lab.pem"  # relative to the file
    env = {"QPI_CLIENT_CA_FILE": str(tmp_path / "env.pem")}
    assert resolve(tmp_path, env).verify == tmp_path / "env.pem"
    context = ssl.create_default_context()
    assert resolve(tmp_path, env, verify=context).verify is context
    assert resolve(tmp_path, env, verify=False).verify is False


def test_timeout_argument_beats_variable_beats_profile(tmp_path: Path) -> None:
    write(tmp_path)
    assert resolve(tmp_path).timeout == 45.0
    assert resolve(tmp_path, {"QPI_TIMEOUT": "10s"}).timeout == 10.0
    assert resolve(tmp_path, {"QPI_TIMEOUT": "10s"}, timeout=2.5).timeout == 2.5


def test_profile_argument_beats_variable_beats_file_key(tmp_path: Path) -> None:
    write(tmp_path)
    assert resolve(tmp_path).profile == "lab"
    assert resolve(tmp_path, {"QPI_PROFILE": "default"}).profile == "default"
    chosen = resolve(tmp_path, {"QPI_PROFILE": "lab"}, profile="default")
    assert (chosen.profile, chosen.url, chosen.token) == ("default", "http://default.example:8090", "qpi_default")


def test_config_file_variable_beats_config_dir(tmp_path: Path) -> None:
    write(tmp_path)
    other = tmp_path / "other.toml"
    other.write_text('[profiles.default]\naddr = "http://other.example"\n')
    other.chmod(0o600)
    assert resolve(tmp_path, {"QPI_CLIENT_CONFIG": str(other)}).url == "http://other.example"


def test_loose_file_mode_warns_and_is_still_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path, mode=0o644)
    with caplog.at_level(logging.WARNING):
        assert resolve(tmp_path).token == "qpi_lab"
    assert any("chmod 600" in r.getMessage() for r in caplog.records)


def test_unknown_profile_and_bad_values_are_config_errors(tmp_path: Path) -> None:
    write(tmp_path)
    with pytest.raises(ConfigError, match="nope"):
        resolve(tmp_path, profile="nope")
    with pytest.raises(ConfigError, match="QPI_ADDR"):
        resolve(tmp_path, {"QPI_ADDR": "ftp://x"})


def test_the_token_never_shows_in_repr(tmp_path: Path) -> None:
    s = resolve(tmp_path, token="qpi_ab12cd34ef56")
    assert "qpi_ab12cd34ef56" not in repr(s)
    assert s.token_hint == "qpi_ab12…"
    assert mask_token(None) is None


def test_async_client_repr_shows_only_a_prefix(clean_env: Path) -> None:
    from qpi.client import AsyncClient, Client

    client = AsyncClient("http://127.0.0.1:9", "qpi_" + "a" * 64)
    assert repr(client) == "AsyncClient(url='http://127.0.0.1:9', profile='default', token='qpi_aaaa…')"
    with Client("http://127.0.0.1:9", "qpi_" + "b" * 64) as sync:
        assert repr(sync) == "Client(url='http://127.0.0.1:9', profile='default', token='qpi_bbbb…')"


def test_plain_http_skips_the_ca_bundle_but_would_fail_closed() -> None:
    import ssl

    from qpi.client.transport import _ssl_context

    context = _ssl_context(True, "http://127.0.0.1:8090")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() == []  # nothing trusted: any TLS use would be refused
    assert _ssl_context(True, "https://qpi.example.org") is True
    assert _ssl_context(False, "http://127.0.0.1:8090") is False  # an explicit choice is kept
