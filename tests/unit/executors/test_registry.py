"""Executor registry and option validation (executors.md E-1.3, E-3.1, E-3.2, E-3.15)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qpi.driver.executors import registry
from qpi.driver.executors.aer import AerExecutor
from qpi.driver.executors.mock import MockExecutor
from qpi.driver.executors.registry import (
    BuiltinExecutor,
    is_simulator_kind,
    known_executor_names,
    resolve_executor,
)
from qpi.errors import ConfigError


def test_builtin_kinds_resolve() -> None:
    assert resolve_executor("mock") is MockExecutor
    assert resolve_executor("qiskit_aer") is AerExecutor
    assert resolve_executor("qpi.driver.executors.mock:MockExecutor") is MockExecutor


def test_simulator_kinds() -> None:
    assert is_simulator_kind("mock") and is_simulator_kind("qiskit_aer")
    assert not any(is_simulator_kind(k) for k in ("quantify", "qblox", "presto", "x.y:Z"))


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_executor("nope")
    message = str(info.value)
    assert "unknown executor 'nope'" in message
    for kind in ("mock", "qiskit_aer", "quantify", "qblox", "presto"):
        assert kind in message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("qpi_no_such_module_x:Thing", "cannot import module 'qpi_no_such_module_x'"),
        ("qpi.driver.executors.mock:Nothing", "has no attribute 'Nothing'"),
        ("qpi.errors:ConfigError", "is not a subclass of qpi.driver.executors.Executor"),
        ("qpi.driver.executors.mock:", "not of the form package.module:Class"),
    ],
)
def test_bad_custom_paths_are_config_errors(path: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        resolve_executor(path)


def test_missing_optional_library_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    # a built-in whose optional library is absent, as quantify is on a core-only install
    monkeypatch.setitem(
        registry.BUILTIN_EXECUTORS,
        "fakehw",
        BuiltinExecutor(
            "qpi_absent_lib_for_test.executor:X", "fakehw", simulator=False, libraries=("qpi_absent_lib_for_test",)
        ),
    )
    with pytest.raises(ConfigError, match=r"pip install 'qpi\[fakehw\]'"):
        resolve_executor("fakehw")


def test_presto_refuses_at_construction(tmp_path: Path) -> None:
    cls = resolve_executor("presto")
    with pytest.raises(ConfigError) as info:
        cls(name="p", data_dir=tmp_path)
    assert str(info.value) == ("The presto executor is not supported yet; use mock, qiskit_aer, quantify or qblox.")


def test_entry_point_group_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "qpi_ep_test-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: qpi-ep-test\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[qpi.executors]\nmysim = qpi.driver.executors.mock:MockExecutor\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "mysim" in known_executor_names()
    assert resolve_executor("mysim") is MockExecutor


def test_importing_the_package_stays_light() -> None:
    import subprocess

    code = (
        "import sys, qpi.driver.executors, qpi.driver.executors.registry; "
        "heavy = [m for m in ('qiskit', 'xarray', 'qiskit_aer', 'quantify_scheduler') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- options ---------------------------------------------------------------------------------


def test_unknown_option_names_it_and_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        MockExecutor(name="m", data_dir=tmp_path, seed=3)
    message = str(info.value)
    assert "unknown option 'seed' for executor 'mock'" in message
    assert "valid options:" in message and "seed_simulator" in message and "num_qubits" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"num_qubits": "25"}, "option 'num_qubits' of executor 'mock'"),
        ({"optimization_level": "4"}, "option 'optimization_level'"),
        ({"max_shots": "lots"}, "option 'max_shots'"),
    ],
)
def test_bad_mock_values_name_the_key(tmp_path: Path, options: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        MockExecutor(name="m", data_dir=tmp_path, **options)


def test_string_options_are_coerced(tmp_path: Path) -> None:
    executor = MockExecutor(name="m", data_dir=tmp_path, num_qubits="5", seed_simulator="7", save_datasets="yes")
    assert (executor.options.num_qubits, executor.options.seed_simulator) == (5, 7)
    assert executor.options.save_datasets is True
    assert executor.device_info().num_qubits == 5


def test_bad_aer_method_lists_the_methods(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        AerExecutor(name="a", data_dir=tmp_path, method="quantum_magic")
    message = str(info.value)
    assert "option 'method'" in message
    assert "statevector" in message and "matrix_product_state" in message


def test_missing_noise_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read noise model file"):
        AerExecutor(name="a", data_dir=tmp_path, noise_model=str(tmp_path / "absent.json"))
