"""The benchmark script runs and reports every figure it promises (tiny settings)."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_input_pipeline_benchmark_prints_one_json_line_of_positive_rates():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.input_pipeline", "--images", "70", "--cached_epochs", "2"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    figures = json.loads(line)
    for key in ("pil_loop_images_per_s", "first_epoch_images_per_s", "cached_epoch_images_per_s"):
        assert figures[key] > 0
    ratio = figures["first_epoch_images_per_s"] / figures["pil_loop_images_per_s"]
    assert abs(figures["first_epoch_vs_pil_loop"] - ratio) < 0.02
