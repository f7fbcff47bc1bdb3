"""Tests of the benchmark scripts; `run_benchmark` runs one as a user would and reads its JSON line."""

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(module: str, *arguments: str, timeout: int = 300) -> dict:
    """The one JSON line `python -m <module> <arguments>` prints, as a dict (fails on any other output line)."""
    result = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(line)
