"""The feature-extraction benchmark prints one JSON line of consistent figures."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_feature_extraction_benchmark_prints_its_throughput_as_json():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.feature_extraction",
            "--batch_size=2",
            "--batches=1",
            "--input_size=32",
            "--inception_size=75",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    figures = json.loads(line)
    assert figures["benchmark"] == "feature_extraction" and figures["batch_size"] == 2
    assert figures["images_per_s"] > 0
    assert abs(figures["minutes_per_50k_images"] - 50_000 / figures["images_per_s"] / 60) < 0.1
