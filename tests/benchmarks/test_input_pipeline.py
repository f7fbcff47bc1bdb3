"""The benchmark script runs and reports every figure it promises (tiny settings)."""

from tests.benchmarks import run_benchmark


def test_input_pipeline_benchmark_prints_one_json_line_of_positive_rates():
    figures = run_benchmark("benchmarks.input_pipeline", "--images", "70", "--cached_epochs", "2")
    for key in ("pil_loop_images_per_s", "first_epoch_images_per_s", "cached_epoch_images_per_s"):
        assert figures[key] > 0
    ratio = figures["first_epoch_images_per_s"] / figures["pil_loop_images_per_s"]
    assert abs(figures["first_epoch_vs_pil_loop"] - ratio) < 0.02
