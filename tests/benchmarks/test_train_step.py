"""The train-step benchmark runs and reports consistent figures (slow: it compiles with and without XLA)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_train_step_benchmark_reports_throughput_and_flops():
    result = subprocess.run([sys.executable, "-m", "benchmarks.train_step", "--model", "xgan", "--steps", "2"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True)
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    figures = json.loads(line)
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0
    # 16 images of the XGAN step: ~4.1 GFLOP each (forward + backward of the layer tables).
    assert 40 < figures["train_step_gflop"] < 100
    best = max(figures["images_per_s_no_xla"], figures["images_per_s_xla"])
    expected = figures["train_step_gflop"] * best / figures["batch_size"]
    assert figures["achieved_gflops"] == pytest.approx(expected, rel=0.05)
