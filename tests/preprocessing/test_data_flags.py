"""The shared data flags: `--<domain>_load_size` with `--<domain>_augment=random_crop`, parsed as a train CLI does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from absl import flags

from preprocessing import data_flags
from preprocessing.folder_job import EXIT_USAGE
from preprocessing.pipeline import load_domain

REPO_ROOT = Path(__file__).resolve().parents[2]
IMAGE_SIZE, LOAD_SIZE, BATCH = 32, 40, 8


def domain_config(domain: str, *arguments) -> dict:
    """The config a train CLI builds from `arguments` for one domain's flags (one photo, batches of BATCH)."""
    values = flags.FlagValues()
    names = data_flags.define_domain_flags({domain: ("synthetic:photo:1", "the test faces")}, values)
    flags.DEFINE_integer("batch_size", BATCH, "Images per batch.", flag_values=values)
    flags.DEFINE_integer("seed", 0, "Seed.", flag_values=values)
    values(["train", *arguments])
    return {name: values[name].value for name in (*names, "batch_size", "seed")}


def window_offset(window: np.ndarray, image: np.ndarray) -> tuple[int, int] | None:
    """(top, left) of the IMAGE_SIZE window of `image` that `window` equals, or None."""
    slack = image.shape[0] - IMAGE_SIZE
    for top in range(slack + 1):
        for left in range(slack + 1):
            if np.allclose(window, image[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE], atol=1e-6):
                return top, left
    return None


def test_random_crop_takes_random_windows_of_the_image_loaded_at_load_size():
    config = domain_config("face", "--face_augment=random_crop", f"--face_load_size={LOAD_SIZE}")
    windows = next(iter(data_flags.load_domain_from_config(config, "face", IMAGE_SIZE))).numpy()
    loaded = next(iter(load_domain("synthetic:photo:1", image_size=LOAD_SIZE, batch_size=1))).numpy()[0]
    assert windows.shape == (BATCH, IMAGE_SIZE, IMAGE_SIZE, 3)
    offsets = [window_offset(window, loaded) for window in windows]
    assert None not in offsets
    assert len(set(offsets)) > 1  # random, not the same window every time


def test_a_load_size_without_random_crop_takes_the_centre_window():
    config = domain_config("", f"--load_size={LOAD_SIZE}")
    windows = next(iter(data_flags.load_domain_from_config(config, "", IMAGE_SIZE))).numpy()
    loaded = next(iter(load_domain("synthetic:photo:1", image_size=LOAD_SIZE, batch_size=1))).numpy()[0]
    centre = (LOAD_SIZE - IMAGE_SIZE) // 2
    assert all(window_offset(window, loaded) == (centre, centre) for window in windows)


@pytest.mark.parametrize(
    ("domain", "arguments", "message"),
    [
        (
            "face",
            ["--face_augment=flip,random_crop"],
            f"--face_augment=random_crop needs --face_load_size > the image size ({IMAGE_SIZE}); it is not set",
        ),
        (
            "",
            ["--augment=random_crop", f"--load_size={IMAGE_SIZE}"],
            f"--augment=random_crop needs --load_size > the image size ({IMAGE_SIZE}); got {IMAGE_SIZE}",
        ),
        (
            "cartoon",
            ["--cartoon_load_size=16"],
            f"--cartoon_load_size=16 is smaller than the image size ({IMAGE_SIZE})",
        ),
    ],
)
def test_a_load_size_that_does_not_fit_is_a_one_line_error_naming_the_flag(domain, arguments, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        data_flags.load_domain_from_config(domain_config(domain, *arguments), domain, IMAGE_SIZE)
    assert exit_info.value.code == EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [f"error: {message}"]


def test_random_crop_without_a_load_size_names_the_load_size_flag_in_the_train_cli(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "xgan.train", "--face_augment=random_crop", f"--run_dir={tmp_path / 'run'}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == EXIT_USAGE
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: --face_augment=random_crop needs --face_load_size > the image size (64); it is not set"]
