"""The train-step benchmark runs and reports consistent figures (slow: it compiles with and without XLA)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(model: str, steps: int) -> dict:
    """The one JSON line of `python -m benchmarks.train_step --model MODEL --steps STEPS`."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.train_step", "--model", model, "--steps", str(steps)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(line)


@pytest.mark.slow
def test_train_step_benchmark_reports_throughput_and_flops():
    figures = run_benchmark("xgan", steps=2)
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0
    # 16 images of the XGAN step: ~4.1 GFLOP each (forward + backward of the layer tables).
    assert 40 < figures["train_step_gflop"] < 100
    best = max(figures["images_per_s_no_xla"], figures["images_per_s_xla"])
    expected = figures["train_step_gflop"] * best / figures["batch_size"]
    assert figures["achieved_gflops"] == pytest.approx(expected, rel=0.05)


@pytest.mark.slow
def test_train_step_benchmark_times_the_dcgan_at_the_report_batch():
    figures = run_benchmark("single_gan", steps=1)
    assert figures["model"] == "single_gan" and figures["batch_size"] == 128
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0
    # 128 images of the DCGAN step: ~3 GFLOP each (G and D forward and backward, D on real and fake images).
    assert 250 < figures["train_step_gflop"] < 600
