"""`python -m experiments.xgan_probe` end to end on tiny settings: it trains, scores and prints one JSON line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import xgan_probe

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_probe_trains_with_the_given_flags_scores_the_run_and_prints_its_row(tmp_path):
    command = [
        sys.executable,
        "-m",
        "experiments.xgan_probe",
        "--name=tiny",
        "--steps=2",
        "--batch_size=4",
        "--num_images=8",
        f"--runs_dir={tmp_path}",
        "--semantics_flags=--num_train_images=32 --epochs=1 --num_oracle_images=8 --num_examples=2",
        "--",
        "--adversarial_weight=0.5",
        "--face_source=synthetic:photo:8",
        "--cartoon_source=synthetic:cartoon:8",
        "--num_grid_samples=2",
        "--jit_compile=false",
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=True)
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert (row["probe"], row["steps"], row["num_images"], row["direction"]) == ("tiny", 2, 8, "face2cartoon")
    assert row["train_flags"][0] == "--adversarial_weight=0.5"
    assert 0.0 <= row["translations_mean"] <= 1.0 and 0.0 < row["chance_mean"] < 1.0
    config = json.loads((tmp_path / "tiny" / "config.json").read_text())
    assert (config["adversarial_weight"], config["steps_per_epoch"], config["batch_size"]) == (0.5, 2, 4)
    assert (tmp_path / "classifiers").is_dir() and (tmp_path / "scores" / "tiny").is_dir()


def test_a_probe_without_a_name_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "experiments.xgan_probe", f"--runs_dir={tmp_path}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--name" in result.stderr


def test_the_train_flags_after_the_separator_come_last_so_they_win(tmp_path):
    args, train_flags = xgan_probe.parse_arguments(
        ["--name=n", "--steps=7", f"--runs_dir={tmp_path}", "--", "--batch_size=2", "--recipe=report"]
    )
    command = xgan_probe.train_command(args, train_flags)
    assert command[1:3] == ["-m", "xgan.train"]
    assert command[3:7] == ["--epochs=1", "--steps_per_epoch=7", "--batch_size=16", f"--run_dir={tmp_path / 'n'}"]
    assert command[-2:] == ["--batch_size=2", "--recipe=report"]  # absl: the last value of a flag wins
    semantics = xgan_probe.semantics_command(args)
    assert f"--out={tmp_path / 'scores' / 'n'}" in semantics and f"--cache_dir={tmp_path / 'classifiers'}" in semantics
