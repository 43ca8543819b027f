"""The loader in driver mode: required options, fingerprint, address, executor options, paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from qpi.config import DriverConfig, Loaded, load_config
from qpi.errors import ConfigError

FP = "ab" * 32
REQUIRED = {"QPI_ACCESS_TOKEN": "drv_token_0123456789", "QPI_CA_FINGERPRINT": FP}


def load(
    tmp_path: Path, cli: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> Loaded[DriverConfig]:
    return load_config("driver", cli or {}, {**REQUIRED, **(env or {})}, cwd=tmp_path)


def problems(
    tmp_path: Path, cli: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config("driver", cli or {}, env or {}, cwd=tmp_path)
    return info.value.problems


def test_defaults(tmp_path: Path) -> None:
    config = load(tmp_path).config
    assert config.qpi_addr == "http://127.0.0.1:8090"
    assert (config.name, config.executor, config.workers) == ("qpu_sim_01", "mock", 1)
    assert config.data_dir == tmp_path / "bin" / "data"
    assert config.key_file == tmp_path / "bin" / "data" / "driver.key"
    assert config.outbox_dir == tmp_path / "bin" / "data" / "outbox"
    assert config.ca_file == tmp_path / "bin" / "qpi.ca.pem"
    assert config.quantify_device_config == tmp_path / "quantify.device.yml"
    assert config.job_timeout is None
    assert config.options == {}
    assert (config.reconnect_min, config.reconnect_max, config.shutdown_grace) == (1.0, 60.0, 60.0)
    assert config.max_message_size == 64 * 1024 * 1024
    assert config.config_file is None


def test_required_options(tmp_path: Path) -> None:
    assert problems(tmp_path) == [
        "--token is required: give --token, set QPI_ACCESS_TOKEN or the file key token",
        "--ca-fingerprint is required: give --ca-fingerprint, set QPI_CA_FINGERPRINT or the file key ca_fingerprint",
    ]


def test_fingerprint_normalised_and_checked(tmp_path: Path) -> None:
    colons = ":".join(["AB"] * 32)
    assert load(tmp_path, cli={"ca_fingerprint": colons}).config.ca_fingerprint == FP
    (found,) = problems(tmp_path, cli={"ca_fingerprint": "abc", "token": "t"})
    assert found.startswith("--ca-fingerprint: invalid value 'abc' from cli: expected the 64 hex digits")


def test_token_never_printed_in_full(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, cli={"token": "  "}, env={"QPI_CA_FINGERPRINT": FP})
    assert found == "--token: invalid value ' …' from cli: must not be empty"
    with pytest.raises(ConfigError) as info:
        load_config("serve", {"database_url": "mysql://qpi:verysecretpw@db/qpi"}, {}, cwd=tmp_path)
    assert info.value.problems == [
        "--database-url: invalid value 'mysql://…' from cli: the scheme must be sqlite:// or postgresql://"
    ]
    config = load(tmp_path).config
    assert "drv_token" not in repr(config)


@pytest.mark.parametrize(
    ("raw", "addr"),
    [
        ("qpi.example.org:8090", "http://qpi.example.org:8090"),
        ("https://qpi.example.org/", "https://qpi.example.org"),
    ],
)
def test_qpi_addr_normalised(tmp_path: Path, raw: str, addr: str) -> None:
    assert load(tmp_path, env={"QPI_ADDR": raw}).config.qpi_addr == addr


def test_two_variables_first_wins(tmp_path: Path) -> None:
    loaded = load(tmp_path, env={"QPU_NAME": "a", "QPI_DRIVER_NAME": "b", "QPI_DEVICE": "qiskit_aer"})
    assert loaded.config.name == "a"
    assert loaded.sources["name"] == "env:QPU_NAME"
    assert loaded.config.executor == "qiskit_aer"
    assert loaded.sources["executor"] == "env:QPI_DEVICE"
    loaded = load(tmp_path, env={"QPI_DRIVER_NAME": "b", "DRIVER_BACKEND": "pkg.mod:Cls"})
    assert (loaded.config.name, loaded.sources["name"]) == ("b", "env:QPI_DRIVER_NAME")
    assert loaded.config.executor == "pkg.mod:Cls"


def test_executor_options_merge_cli_over_file(tmp_path: Path) -> None:
    (tmp_path / "qpi-driver.config.yml").write_text(
        "executor: qiskit_aer\noptions:\n  method: statevector\n  seed_simulator: 7\n  shots_cap: 100\n"
    )
    loaded = load(tmp_path, cli={"options": ("seed_simulator=11", "noise_model=noise.json")})
    assert loaded.config.options == {
        "method": "statevector",
        "seed_simulator": "11",
        "shots_cap": "100",
        "noise_model": "noise.json",
    }
    assert loaded.sources["options"] == "cli"
    (found,) = problems(tmp_path, cli={"options": ("novalue",)}, env=REQUIRED)
    assert found == "--option: invalid value ('novalue',) from cli: expected KEY=VALUE, got 'novalue'"


def test_driver_config_file_variable(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_text('workers = 3\njob_timeout = "90s"\nkey_file = "keys/k.pem"\n')
    loaded = load(tmp_path, env={"QPI_DRIVER_CONFIG_FILE": "d.toml"})
    assert (loaded.config.workers, loaded.config.job_timeout) == (3, 90.0)
    assert loaded.config.key_file == tmp_path / "keys" / "k.pem"
    assert loaded.config.config_file == tmp_path / "d.toml"
    assert loaded.sources["config_file"] == "env:QPI_DRIVER_CONFIG_FILE"
    (found,) = problems(tmp_path, env={**REQUIRED, "QPI_CONFIG_FILE": "d.toml", "QPI_DRIVER_CONFIG_FILE": "x.yml"})
    assert found == f"--config-file: '{tmp_path / 'x.yml'}' from env:QPI_DRIVER_CONFIG_FILE does not exist"


def test_driver_has_no_camel_case_aliases(tmp_path: Path) -> None:
    (tmp_path / "qpi-driver.config.yml").write_text("isDummy: true\n")
    (found,) = problems(tmp_path, env=REQUIRED)
    assert found.endswith("(did you mean 'is_dummy'?)")


def test_cross_checks(tmp_path: Path) -> None:
    found = problems(tmp_path, cli={"reconnect_min": "10s", "reconnect_max": "5s"}, env=REQUIRED)
    assert found == ["--reconnect-max: 5s (cli) is below --reconnect-min 10s (cli)"]
    found = problems(tmp_path, cli={"executor": "quantify", "workers": "2"}, env=REQUIRED)
    assert found == ["--workers: 2 (cli) but the quantify executor drives hardware and accepts 1 worker only"]
    found = problems(tmp_path, cli={"executor": "aer"}, env=REQUIRED)
    assert found[0].startswith("--executor: invalid value 'aer' from cli: expected one of mock, qiskit_aer")


def test_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown configuration mode"):
        load_config("server", {}, {}, cwd=tmp_path)  # type: ignore[call-overload]
