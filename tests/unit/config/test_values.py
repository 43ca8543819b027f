"""The pure value parsers: durations, sizes, booleans, numbers, lists, JSON, key=value."""

from __future__ import annotations

from pathlib import Path

import pytest

from qpi.config import values as v
from qpi.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("7d", 604800.0),
        ("1.5h", 5400.0),
        ("2d3h4m5s6ms", 2 * 86400 + 3 * 3600 + 4 * 60 + 5.006),
        ("30", 30.0),
        ("0.5", 0.5),
        ("  5S ", 5.0),
        (12, 12.0),
        (2.5, 2.5),
        ("0", 0.0),
    ],
)
def test_duration_parses(raw: object, seconds: float) -> None:
    assert v.parse_duration(raw) == pytest.approx(seconds)


@pytest.mark.parametrize("raw", ["", "5x", "h", "1h 30m", "5s5", "-5s", "1e400", True, None, [5], "ms"])
def test_duration_rejects(raw: object) -> None:
    with pytest.raises(ConfigError):
        v.parse_duration(raw)


def test_duration_bounds() -> None:
    assert v.parse_duration("0s") == 0.0
    with pytest.raises(ConfigError, match="must be > 0s"):
        v.parse_duration("0s", above=True)
    with pytest.raises(ConfigError, match="≥"):
        v.parse_duration(-1)


@pytest.mark.parametrize("seconds", [0.0, 0.25, 5.0, 600.0, 5400.0, 604800.0, 90061.001, 2592000.0])
def test_format_duration_round_trips(seconds: float) -> None:
    assert v.parse_duration(v.format_duration(seconds)) == pytest.approx(seconds)


def test_format_duration_is_compact() -> None:
    assert v.format_duration(5400) == "1h30m"
    assert v.format_duration(0.25) == "250ms"
    assert v.format_duration(720 * 3600) == "30d"


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("64MiB", 64 * 1024**2),
        ("1GB", 10**9),
        ("1gb", 10**9),
        ("512kB", 512_000),
        ("2KiB", 2048),
        ("1.5MiB", 1572864),
        ("4096", 4096),
        ("10 B", 10),
        (1024, 1024),
    ],
)
def test_size_parses(raw: object, size: int) -> None:
    assert v.parse_size(raw) == size


@pytest.mark.parametrize("raw", ["", "64 potatoes", "MiB", "0.5B", "-1", "1.5", True, None, 1.25])
def test_size_rejects(raw: object) -> None:
    with pytest.raises(ConfigError):
        v.parse_size(raw)


def test_size_minimum_and_format() -> None:
    with pytest.raises(ConfigError, match="≥ 1KiB"):
        v.parse_size("100", minimum=1024)
    assert v.format_size(64 * 1024**2) == "64MiB"
    assert v.format_size(1000) == "1000"
    assert v.parse_size(v.format_size(3 * 1024**3)) == 3 * 1024**3


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "yes", "Yes", "on", "ON", True, 1])
def test_bool_true(raw: object) -> None:
    assert v.parse_bool(raw) is True


@pytest.mark.parametrize("raw", ["false", "False", "0", "no", "NO", "off", "Off", False, 0])
def test_bool_false(raw: object) -> None:
    assert v.parse_bool(raw) is False


@pytest.mark.parametrize("raw", ["", "y", "2", "maybe", 2, None, 1.0])
def test_bool_rejects(raw: object) -> None:
    with pytest.raises(ConfigError, match="expected a boolean"):
        v.parse_bool(raw)


def test_int_parses_and_bounds() -> None:
    assert v.parse_int("8090", minimum=1, maximum=65535) == 8090
    assert v.parse_int(8090.0) == 8090
    assert v.parse_int(" -3 ") == -3
    with pytest.raises(ConfigError, match="≤ 65535"):
        v.parse_int("70000", minimum=1, maximum=65535)
    with pytest.raises(ConfigError, match="≥ 1"):
        v.parse_int(0, minimum=1)
    for bad in ("8k", "1.5", 1.5, True, "", None):
        with pytest.raises(ConfigError, match="expected an integer"):
            v.parse_int(bad)


def test_float_parses_and_bounds() -> None:
    assert v.parse_float("2.5") == 2.5
    assert v.parse_float(3) == 3.0
    assert v.parse_float("1e2") == 100.0
    with pytest.raises(ConfigError, match="≥ 0"):
        v.parse_float("-1", minimum=0)
    with pytest.raises(ConfigError, match="> 0"):
        v.parse_float(0, minimum=0, above=True)
    for bad in ("nan", "inf", "abc", True, None):
        with pytest.raises(ConfigError):
            v.parse_float(bad)


def test_enum_is_case_insensitive() -> None:
    assert v.parse_enum("INFO", ("debug", "info")) == "info"
    with pytest.raises(ConfigError, match="expected one of debug, info"):
        v.parse_enum("verbose", ("debug", "info"))


def test_str_and_path() -> None:
    assert v.parse_str("  x ") == "x"
    assert v.parse_str(12) == "12"
    with pytest.raises(ConfigError, match="must not be empty"):
        v.parse_str(" ")
    with pytest.raises(ConfigError):
        v.parse_str(["x"])
    assert v.parse_path("data/x.pem") == Path("data/x.pem")
    assert v.parse_path("~/x").is_absolute()


def test_list_from_flags_variables_and_files() -> None:
    assert v.parse_list("a, b,,c") == ("a", "b", "c")
    assert v.parse_list(("a", "b,c")) == ("a", "b", "c")
    assert v.parse_list(["a", "b"]) == ("a", "b")
    assert v.parse_list("") == ()
    with pytest.raises(ConfigError):
        v.parse_list({"a": 1})
    with pytest.raises(ConfigError):
        v.parse_list([{"a": 1}])


def test_json() -> None:
    assert v.parse_json('[{"name": "x"}]') == [{"name": "x"}]
    assert v.parse_json([1]) == [1]
    with pytest.raises(ConfigError, match="invalid JSON"):
        v.parse_json("[{")


def test_key_values() -> None:
    assert v.parse_key_values(("method=statevector", "seed=1", "x=a=b")) == {
        "method": "statevector",
        "seed": "1",
        "x": "a=b",
    }
    assert v.parse_key_values({"seed": 1, "gpu": True, "f": 0.5}) == {"seed": "1", "gpu": "true", "f": "0.5"}
    for bad in (("novalue",), ("=x",), {"k": [1]}, 5):
        with pytest.raises(ConfigError):
            v.parse_key_values(bad)


def test_mask_secret() -> None:
    assert v.mask_secret("qpi_abcdefghijklmnop") == "qpi_abcd…"
    assert v.mask_secret("short") == "sh…"
    assert v.mask_secret("") == "…"
