"""The synthetic-sources benchmark runs and reports every figure it promises (tiny settings)."""

from tests.benchmarks import run_benchmark

FIGURES = ("batch_pairs_per_s", "cpu_ms_per_batch_pair")


def test_synthetic_sources_benchmark_prints_one_json_line_of_positive_figures():
    figures = run_benchmark("benchmarks.synthetic_sources", "--pool", "64", "--batches", "3", "--warm_up", "1")
    assert (figures["benchmark"], figures["pool"]) == ("synthetic_sources", 64)
    assert figures["pool_render_seconds"] > 0 and figures["pool_load_seconds"] > 0
    for source in ("endless", "pool_first_pass", "pool_cached"):
        assert all(figures[f"{source}_{figure}"] > 0 for figure in FIGURES), source
