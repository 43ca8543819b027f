"""Options of the hardware executors and where their config files come from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qpi.driver.executors.base import parse_options, set_launch_dir
from qpi.driver.executors.hardware.options import (
    EXAMPLE_DEVICE_CONFIG,
    EXAMPLE_HARDWARE_CONFIG,
    HardwareOptions,
    example_path,
    parse_basis,
    resolve_config_paths,
)
from qpi.errors import ConfigError


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Path]:
    """Pretend the driver was started in ``tmp_path`` (workers run elsewhere)."""
    set_launch_dir(tmp_path)
    try:
        yield tmp_path
    finally:
        set_launch_dir(None)


def options(**raw: object) -> HardwareOptions:
    return parse_options(HardwareOptions, raw, executor="quantify")


def test_defaults_follow_the_spec_table() -> None:
    opts = options()
    assert (opts.max_shots, opts.max_circuits, opts.save_datasets) == (10_000, 300, False)
    assert (opts.is_dummy, opts.transpile, opts.basis) == (False, True, "rz,sx,x,cz")
    assert (opts.layout_method, opts.optimization_level, opts.seed_transpiler) == ("trivial", 1, 0)
    assert opts.acquisition_timeout is None
    assert opts.quantify_device_config is None and opts.quantify_hardware_config is None


def test_command_line_strings_are_coerced() -> None:
    opts = options(is_dummy="yes", acquisition_timeout="2.5", optimization_level="3", transpile="off")
    assert (opts.is_dummy, opts.acquisition_timeout, opts.optimization_level, opts.transpile) == (True, 2.5, 3, False)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"optimisation_level": 1}, "unknown option 'optimisation_level'.*valid options: .*optimization_level"),
        ({"optimization_level": 4}, "optimization_level"),
        ({"layout_method": "magic"}, "layout_method"),
        ({"acquisition_timeout": 0}, "acquisition_timeout"),
        ({"max_shots": 0}, "max_shots"),
    ],
)
def test_bad_options_are_config_errors(raw: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        options(**raw)


def test_basis_is_validated_against_the_conversion_table() -> None:
    assert parse_basis(" RZ, sx ,x,cz,measure,rz", executor="quantify") == ("rz", "sx", "x", "cz")
    with pytest.raises(ConfigError, match=r"unsupported gate\(s\) ccx, rzz.*choose from"):
        parse_basis("rz,ccx,rzz", executor="quantify")
    with pytest.raises(ConfigError, match="no gate given"):
        parse_basis(" , ", executor="qblox")


def test_relative_paths_resolve_against_the_launch_directory(launch: Path, tmp_path: Path) -> None:
    (launch / "dev.yml").write_text("q0: {}\n")
    (launch / "hw.json").write_text("{}")
    device, hardware = resolve_config_paths(
        options(quantify_device_config="dev.yml", quantify_hardware_config="hw.json")
    )
    assert (device, hardware) == (launch / "dev.yml", launch / "hw.json")


def test_a_given_path_that_does_not_exist_names_it(launch: Path) -> None:
    with pytest.raises(ConfigError, match=rf"quantify_device_config: file not found: {launch / 'nope.yml'}"):
        resolve_config_paths(options(quantify_device_config="nope.yml", is_dummy=True))


def test_default_files_in_the_launch_directory_win(launch: Path) -> None:
    (launch / "quantify.device.yml").write_text("q0: {}\n")
    (launch / "quantify.hardware.json").write_text("{}")
    assert resolve_config_paths(options()) == (launch / "quantify.device.yml", launch / "quantify.hardware.json")


def test_dummy_mode_falls_back_to_the_shipped_examples(launch: Path) -> None:
    device, hardware = resolve_config_paths(options(is_dummy=True))
    assert device == example_path(EXAMPLE_DEVICE_CONFIG) and device.is_file()
    assert hardware == example_path(EXAMPLE_HARDWARE_CONFIG) and hardware.is_file()


def test_without_dummy_mode_a_missing_default_is_an_error(launch: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_config_paths(options())
    message = str(info.value)
    assert str(launch / "quantify.device.yml") in message
    assert "--quantify-device-config" in message and "--is-dummy" in message
