"""The counts histogram (``client-and-cli.md`` §3.2)."""

from __future__ import annotations

import re

from qpi.cli.client.histogram import BAR, histogram_lines, title_line


def test_bell_histogram_as_in_the_spec() -> None:
    lines = histogram_lines({"00": 506, "11": 494}, width=120)
    assert lines == [
        "00  " + BAR * 50 + "  506  50.6%",
        "11  " + BAR * 49 + "   494  49.4%",
    ]
    assert title_line("bell", 2, 1000) == "bell · 2 clbits · 1000 shots"
    assert title_line("one", 1, 1) == "one · 1 clbit · 1 shot"


def test_leading_zeros_and_register_spacing_are_kept() -> None:
    lines = histogram_lines({"001": 3, "101": 7}, creg_sizes=[1, 2], width=80)
    assert [line.split()[0:2] for line in lines] == [["10", "1"], ["00", "1"]]


def test_sorted_by_count_then_key_and_percentages_sum_to_100() -> None:
    counts = {"10": 5, "01": 5, "11": 10, "00": 1}
    lines = histogram_lines(counts, width=80)
    assert [line.split()[0] for line in lines] == ["11", "01", "10", "00"]
    total = sum(float(re.findall(r"([\d.]+)%$", line)[0]) for line in lines)
    assert abs(total - 100.0) <= 0.1


def test_top_n_and_the_rest_summed() -> None:
    counts = {format(i, "05b"): 100 - i for i in range(20)}
    lines = histogram_lines(counts, width=80, top=16)
    assert len(lines) == 17
    rest = sum(100 - i for i in range(16, 20))
    assert lines[-1].startswith("… 4 other outcomes")
    assert lines[-1].split()[-2] == str(rest)
    assert len(histogram_lines(counts, width=80, top=None)) == 20


def test_bars_fit_narrow_terminals_and_never_exceed_50() -> None:
    wide = histogram_lines({"0": 10, "1": 5}, width=300)
    assert wide[0].count(BAR) == 50 and wide[1].count(BAR) == 25
    narrow = histogram_lines({"0": 10, "1": 5}, width=30)
    assert all(len(line) <= 40 for line in narrow)
    assert histogram_lines({}) == ["(no counts)"]
