"""The feature-extraction benchmark prints one JSON line of consistent figures."""

from tests.benchmarks import run_benchmark


def test_feature_extraction_benchmark_prints_its_throughput_as_json():
    figures = run_benchmark(
        "benchmarks.feature_extraction",
        "--batch_size=2",
        "--batches=1",
        "--input_size=32",
        "--inception_size=75",
    )
    assert figures["benchmark"] == "feature_extraction" and figures["batch_size"] == 2
    assert figures["images_per_s"] > 0
    assert abs(figures["minutes_per_50k_images"] - 50_000 / figures["images_per_s"] / 60) < 0.1
