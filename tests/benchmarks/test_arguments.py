"""The benchmark CLIs refuse integers out of their range in one argparse line."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.arguments import int_at_least

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_int_at_least_accepts_the_minimum_and_refuses_less_or_non_integers():
    parse = int_at_least(1)
    assert (parse("1"), parse("20")) == (1, 20)
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer >= 1, got 0"):
        parse("0")
    with pytest.raises(argparse.ArgumentTypeError, match="must be an integer >= 1, got '2.5'"):
        parse("2.5")


def test_a_benchmark_given_zero_images_ends_in_one_error_line_naming_the_flag():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.synthetic_faces", "--images", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("error: argument --images: must be an integer >= 1, got 0")
    assert "Traceback" not in result.stderr
