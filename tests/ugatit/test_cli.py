"""ugatit.train and ugatit.translate as a user runs them, on tiny built-in data."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from evaluation import semantics
from preprocessing import synthetic
from tests.cyclegan.test_cli import run

TINY = [
    "--image_size=96",
    "--light",
    "--filters=8",
    "--steps_per_epoch=2",
    "--log_every_n_steps=1",
    "--num_grid_samples=2",
    "--face_source=synthetic:photo:8",
    "--cartoon_source=synthetic:cartoon:8",
]
# Stages of one epoch before generator steps 1 and 3: the second falls where the resumed invocation starts.
KEYPOINTS = ["--keypoint_loss=m2", "--keypoint_block_steps=2", "--keypoint_pretrain_epochs=1,2"]
STAGE_LINE = re.compile(r"Keypoint predictor pre-training before generator step (\d+): (\d+) epochs")


@pytest.fixture(scope="module")
def keypoint_run(tmp_path_factory):
    """A tiny keypoint-loss run of 2 epochs: the first alone, then resumed to the second; and their logs.

    The first runs the compiled train step; the second, eagerly (building the graph takes longer than a few steps).
    """
    run_dir = tmp_path_factory.mktemp("ugatit") / "run"
    first = run("ugatit.train", "--epochs=1", *TINY, *KEYPOINTS, f"--run_dir={run_dir}")
    second = run("ugatit.train", "--epochs=2", *TINY, *KEYPOINTS, "--run_eagerly", f"--run_dir={run_dir}")
    return run_dir, first.stderr, second.stderr


def test_a_resumed_keypoint_run_trains_every_predictor_stage_once(keypoint_run):
    run_dir, first_log, second_log = keypoint_run
    assert STAGE_LINE.findall(first_log) == [("1", "1")]
    assert STAGE_LINE.findall(second_log) == [("3", "2")]  # resumed after step 2: the stage before step 3, once
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epoch"] == [1, 2]
    assert all(value > 0 and np.isfinite(value) for value in history["keypoint"])
    for tracker in ("D_A", "D_B", "adversarial_A", "cycle_B", "identity_A", "cam_B"):
        assert len(history[tracker]) == 2 and all(np.isfinite(history[tracker]))


def test_a_keypoint_run_turns_augmentation_off_and_records_its_schedule(keypoint_run):
    config = json.loads((keypoint_run[0] / "config.json").read_text())
    assert config["face_augment"] == config["cartoon_augment"] == ""
    assert config["keypoint_loss"] == "m2" and config["keypoint_pretrain_epochs"] == [1, 2]
    assert config["weight_decay"] == 1e-4 and config["weight_decay_mode"] == "coupled"
    assert config["learning_rate"] == 1e-4 and config["lr_schedule"] == "linear_decay"


def test_the_run_writes_grids_with_heatmaps_and_both_translators(keypoint_run):
    run_dir = keypoint_run[0]
    assert sorted(path.name for path in (run_dir / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    for direction in ("face2cartoon", "cartoon2face"):
        assert (run_dir / "export" / f"{direction}.keras").is_file()


@pytest.mark.parametrize("direction", ["face2cartoon", "cartoon2face"])
def test_translate_writes_one_image_per_input_in_both_directions(keypoint_run, tmp_path, direction):
    domain = "photo" if direction == "face2cartoon" else "cartoon"
    inputs = tmp_path / "inputs"
    synthetic.write_records(domain, 3, inputs, size=96, seed=1, start_index=0)
    (inputs / "broken.png").write_bytes(b"not an image")
    output = tmp_path / "out"
    result = run(
        "ugatit.translate",
        f"--run_dir={keypoint_run[0]}",
        f"--direction={direction}",
        f"--input={inputs}",
        f"--output={output}",
        "--grid",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in output.glob("*.png") if path.name != "grid.png")
    assert len(written) == 3 and "broken.png" not in written
    assert Image.open(output / written[0]).size == (96, 96)
    assert (output / "grid.png").is_file()
    assert "broken.png" in result.stdout  # skipped and listed


def test_semantics_reads_a_ugatit_runs_domains_and_background_from_its_config(keypoint_run):
    config = json.loads((keypoint_run[0] / "config.json").read_text())
    assert semantics.domains_of("face2cartoon", None, None, config) == ("photo", "cartoon")
    assert semantics.domains_of("cartoon2face", None, None, config) == ("cartoon", "photo")


def test_dry_run_prints_the_count_and_memory_without_training(tmp_path):
    result = run("ugatit.train", "--dry_run", f"--run_dir={tmp_path / 'run'}")
    assert "670,761,088 parameters" in result.stdout and "GB" in result.stdout
    light = run("ugatit.train", "--dry_run", "--light", "--mixed_precision=mixed_bfloat16")
    assert "134,021,248 parameters" in light.stdout
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--image_size=98"], "must be a multiple of 4"),
        (["--image_size=64"], "--image_size"),
        (["--keypoint_loss=m2", "--face_source=folder:{plain_folder}"], "has no landmarks"),
        (["--keypoint_loss=m2", "--keypoint_pretrain_epochs=3,0"], "keypoint_pretrain_epochs"),
    ],
)
def test_bad_flags_end_in_one_line_naming_them(tmp_path, flags, message):
    plain_folder = tmp_path / "photos"  # images without an annotations.csv
    plain_folder.mkdir()
    for index in range(2):
        Image.new("RGB", (96, 96), (index * 100, 80, 60)).save(plain_folder / f"{index}.png")
    flags = [flag.format(plain_folder=plain_folder) for flag in flags]
    result = run("ugatit.train", *TINY, *flags, f"--run_dir={tmp_path / 'run'}", check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
