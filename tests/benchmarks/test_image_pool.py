"""benchmarks.image_pool reports a figure per size and setting, and their ratio."""

import pytest

from tests.benchmarks import run_benchmark


def test_image_pool_benchmark_reports_each_size_with_and_without_xla():
    figures = run_benchmark("benchmarks.image_pool", "--sizes", "8,16", "--pool", "4", "--calls", "2")
    for size in (8, 16):
        plain, xla = figures[f"{size}px_ms_no_xla"], figures[f"{size}px_ms_xla"]
        assert plain > 0 and xla > 0
        assert figures[f"{size}px_xla_vs_no_xla"] == pytest.approx(xla / plain, rel=0.1, abs=0.06)
