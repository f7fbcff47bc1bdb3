"""The synthetic-sources benchmark runs and reports every figure it promises (tiny settings)."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIGURES = ("batch_pairs_per_s", "cpu_ms_per_batch_pair")


def test_synthetic_sources_benchmark_prints_one_json_line_of_positive_figures():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.synthetic_sources", "--pool", "64", "--batches", "3", "--warm_up", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    figures = json.loads(line)
    assert (figures["benchmark"], figures["pool"]) == ("synthetic_sources", 64)
    assert figures["pool_render_seconds"] > 0 and figures["pool_load_seconds"] > 0
    for source in ("endless", "pool_first_pass", "pool_cached"):
        assert all(figures[f"{source}_{figure}"] > 0 for figure in FIGURES), source
