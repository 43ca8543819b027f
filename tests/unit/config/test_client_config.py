"""Client configuration: config directory, profiles, resolution order, the atomic private writer."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from qpi.config import ClientConfig, Loaded, client_config_dir, load_client, load_config, save_profile
from qpi.config.toml_writer import dumps
from qpi.errors import ConfigError


def load(
    tmp_path: Path, cli: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> Loaded[ClientConfig]:
    full_env = {"QPI_CONFIG_DIR": str(tmp_path / "cfg"), **(env or {})}
    return load_config("client", cli or {}, full_env, cwd=tmp_path, platform="linux", home=tmp_path / "home")


def write_profiles(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


PROFILES = """\
profile = "lab"

[profiles.default]
addr = "http://127.0.0.1:8090"

[profiles.lab]
addr = "https://qpi.lab.example.org"
api_token = "qpi_lab_token_123456"
ca_file = "ca/lab.pem"
qpu = ""
timeout = "45s"
"""


# --- the config directory -------------------------------------------------------------------


def test_config_dir_per_platform(tmp_path: Path) -> None:
    home = Path("/home/ada")
    assert client_config_dir({}, platform="linux", home=home) == home / ".config" / "qpi"
    assert client_config_dir({"XDG_CONFIG_HOME": "/xdg"}, platform="linux", home=home) == Path("/xdg/qpi")
    assert client_config_dir({"XDG_CONFIG_HOME": "rel"}, platform="linux", home=home) == home / ".config" / "qpi"
    assert client_config_dir({}, platform="darwin", home=home) == home / "Library" / "Application Support" / "qpi"
    assert client_config_dir({"APPDATA": "C:/Users/ada/AppData/Roaming"}, platform="win32", home=home) == Path(
        "C:/Users/ada/AppData/Roaming/qpi"
    )
    assert client_config_dir({"QPI_CONFIG_DIR": "~/q"}, platform="darwin", home=home) == home / "q"
    assert client_config_dir({"QPI_CONFIG_DIR": "rel"}, platform="linux", home=home, cwd=tmp_path) == tmp_path / "rel"


# --- resolution -----------------------------------------------------------------------------


def test_defaults_without_a_file(tmp_path: Path) -> None:
    loaded = load(tmp_path)
    config = loaded.config
    assert (config.addr, config.api_token, config.profile, config.timeout) == (
        "http://127.0.0.1:8090",
        None,
        "default",
        30.0,
    )
    assert (config.ca_file, config.qpu, config.output, config.client_config) == (None, None, "table", None)
    assert config.config_dir == tmp_path / "cfg"
    assert set(loaded.sources.values()) == {"default"}


def test_profile_from_file(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, PROFILES)
    loaded = load(tmp_path)
    config = loaded.config
    assert config.profile == "lab"
    assert config.addr == "https://qpi.lab.example.org"
    assert config.api_token == "qpi_lab_token_123456"
    assert config.ca_file == tmp_path / "cfg" / "ca" / "lab.pem"  # relative to the file's directory
    assert config.qpu is None  # an empty string means unset
    assert config.timeout == 45.0
    assert config.client_config == path
    assert loaded.sources["profile"] == f"file:{path}"
    assert loaded.sources["addr"] == f"file:{path}"
    assert "qpi_lab_token" not in repr(config)


def test_resolution_order_argument_env_file_default(tmp_path: Path) -> None:
    write_profiles(tmp_path, PROFILES)
    by_env = load(tmp_path, env={"QPI_ADDR": "http://env:1", "QPI_API_TOKEN": "env_token", "QPI_TIMEOUT": "5"})
    assert (by_env.config.addr, by_env.config.api_token, by_env.config.timeout) == (
        "http://env:1",
        "env_token",
        5.0,
    )
    assert by_env.sources["api_token"] == "env:QPI_API_TOKEN"
    by_arg = load(tmp_path, cli={"addr": "http://arg:2", "ca_file": "mine.pem"}, env={"QPI_ADDR": "http://env:1"})
    assert by_arg.config.addr == "http://arg:2"
    assert by_arg.config.ca_file == tmp_path / "mine.pem"  # relative to the working directory
    assert by_arg.sources["addr"] == "cli"


def test_profile_selection(tmp_path: Path) -> None:
    write_profiles(tmp_path, PROFILES)
    by_env = load(tmp_path, env={"QPI_PROFILE": "default"})
    assert (by_env.config.profile, by_env.config.api_token) == ("default", None)
    assert by_env.sources["profile"] == "env:QPI_PROFILE"
    by_arg = load(tmp_path, cli={"profile": "lab"}, env={"QPI_PROFILE": "default"})
    assert by_arg.config.api_token == "qpi_lab_token_123456"


def test_missing_profile(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, PROFILES)
    with pytest.raises(ConfigError) as info:
        load(tmp_path, cli={"profile": "prod"})
    assert info.value.problems == [f"--profile: profile 'prod' from cli is not in {path} (known: default, lab)"]
    config, _ = load_client(
        {"profile": "prod"}, {"QPI_CONFIG_DIR": str(tmp_path / "cfg")}, cwd=tmp_path, require_profile=False
    )
    assert (config.profile, config.addr) == ("prod", "http://127.0.0.1:8090")


def test_unknown_keys_in_client_file(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, 'addr = "http://x"\nprofiels = 1\n[profiles.default]\napi_tokn = "x"\n')
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert info.value.problems == [
        f"key 'addr' in file:{path} belongs in a [profiles.NAME] table",
        f"unknown key 'profiels' in file:{path} (did you mean 'profiles'?)",
        f"unknown key 'api_tokn' in profile 'default' of file:{path} (did you mean 'api_token'?)",
    ]


def test_bad_values_in_client_file(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, '[profiles.default]\ntimeout = "soon"\noutput = "xml"\n')
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert info.value.problems == [
        f"--timeout: invalid value 'soon' from file:{path}: expected a duration such as 250ms, 5s, 10m, 1h30m or 7d",
        f"--output: invalid value 'xml' from file:{path}: expected one of table, json",
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.yml", "profile: x\nprofiles:\n  x:\n    addr: http://yaml:1\n"),
        ("c.json", '{"profile": "x", "profiles": {"x": {"addr": "http://json:1"}}}'),
    ],
)
def test_client_config_override_formats(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    loaded = load(tmp_path, env={"QPI_CLIENT_CONFIG": name})
    assert loaded.config.addr.startswith("http://")
    assert loaded.config.client_config == tmp_path / name
    assert loaded.sources["client_config"] == "env:QPI_CLIENT_CONFIG"
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path, cli={"client_config": "missing.toml"})


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_loose_file_mode_warns_but_is_read(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_profiles(tmp_path, PROFILES)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="qpi.config.client"):
        config = load(tmp_path).config
    assert config.profile == "lab"
    assert any("mode 0644" in record.getMessage() for record in caplog.records)


# --- writing --------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_save_profile_creates_private_dir_and_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "qpi" / "config.toml"
    save_profile(path, "local", {"addr": "http://127.0.0.1:8090", "api_token": "qpi_x"}, make_current=True)
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = tomllib.loads(path.read_text())
    assert data == {
        "profile": "local",
        "profiles": {"local": {"addr": "http://127.0.0.1:8090", "api_token": "qpi_x"}},
    }
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_save_profile_preserves_other_keys_and_profiles(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, PROFILES + '\n[aliases]\nbell = "examples/bell.qasm"\n')
    save_profile(path, "local", {"addr": "http://127.0.0.1:9000", "api_token": 'tok"\\en'}, make_current=False)
    save_profile(path, "lab", {"qpu": "fridge_1", "ca_file": None})
    data = tomllib.loads(path.read_text())
    assert data["profile"] == "lab"
    assert data["aliases"] == {"bell": "examples/bell.qasm"}
    assert data["profiles"]["default"] == {"addr": "http://127.0.0.1:8090"}
    assert data["profiles"]["local"] == {"addr": "http://127.0.0.1:9000", "api_token": 'tok"\\en'}
    assert data["profiles"]["lab"]["qpu"] == "fridge_1"
    assert "ca_file" not in data["profiles"]["lab"]
    assert data["profiles"]["lab"]["api_token"] == "qpi_lab_token_123456"
    if os.name == "posix":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_saved_profile_is_what_the_loader_reads(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    save_profile(path, "default", {"addr": "http://a:1"}, make_current=True)
    save_profile(path, "local", {"addr": "http://127.0.0.1:9000", "api_token": 'tok"\\en', "timeout": "5s"})
    loaded = load(tmp_path, cli={"profile": "local"})
    assert (loaded.config.api_token, loaded.config.timeout) == ('tok"\\en', 5.0)
    assert load(tmp_path).config.addr == "http://a:1"


def test_save_profile_refuses_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match="unknown profile key"):
        save_profile(path, "x", {"password": "no"})
    with pytest.raises(ConfigError, match="must not be empty"):
        save_profile(path, " ", {})
    path.write_text("profiles = 3\n")
    with pytest.raises(ConfigError, match="not overwriting"):
        save_profile(path, "x", {"addr": "http://x"})
    assert path.read_text() == "profiles = 3\n"


def test_save_profile_yaml_and_json(tmp_path: Path) -> None:
    for name in ("c.yml", "c.json"):
        path = save_profile(tmp_path / name, "p", {"addr": "http://h:1"}, make_current=True)
        loaded = load(tmp_path, env={"QPI_CLIENT_CONFIG": str(path)})
        assert (loaded.config.profile, loaded.config.addr) == ("p", "http://h:1")


def test_toml_writer_round_trips() -> None:
    data: dict[str, object] = {
        "profile": 'dé"fault',
        "count": 3,
        "ratio": 0.5,
        "big": 1e300,
        "on": True,
        "when": dt.datetime(2026, 7, 24, 10, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2026, 7, 24),
        "items": ["a", 1, False, ["nested"]],
        "inline": [{"k": "v"}],
        "weird key": "tab\there\nnewline\x01ctrl\\back",
        "empty": {},
        "profiles": {"default": {"addr": "http://x"}, "a.b": {"qpu": "q"}, "only": {"deeper": {"x": 1}}},
    }
    assert tomllib.loads(dumps(data)) == data


def test_toml_writer_rejects_unknown_types() -> None:
    with pytest.raises(ConfigError, match="cannot write"):
        dumps({"x": [None]})
