"""cyclegan.train and cyclegan.translate as a user runs them, on tiny built-in data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from absl import flags
from PIL import Image

from cyclegan import train
from preprocessing.pipeline import prepare_image
from training.translate import to_uint8

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--image_size=32",
    "--residual_blocks=1",
    "--steps_per_epoch=2",
    "--log_every_n_steps=1",
    "--num_grid_samples=2",
    "--a_source=synthetic:photo:8",
    "--b_source=synthetic:cartoon:8",
    "--jit_compile=false",
]


def run(*arguments, check=True):
    return subprocess.run(
        [sys.executable, "-m", *map(str, arguments)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
        env=os.environ,
    )


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A tiny run of 2 epochs: the first alone, then resumed to the second."""
    run_dir = tmp_path_factory.mktemp("cyclegan") / "run"
    run("cyclegan.train", "--epochs=1", *TINY, f"--run_dir={run_dir}")
    run("cyclegan.train", "--epochs=2", *TINY, f"--run_dir={run_dir}")
    return run_dir


def test_a_run_writes_the_reference_trackers_grids_and_both_generators(trained_run):
    history = json.loads((trained_run / "history.json").read_text())
    assert history["epoch"] == [1, 2]  # the second invocation resumed after the first epoch
    for tracker in ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"):
        assert len(history[tracker]) == 2 and all(np.isfinite(history[tracker]))
    assert sorted(p.name for p in (trained_run / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    for direction in ("a2b", "b2a"):
        assert (trained_run / "export" / f"{direction}.keras").is_file()
    config = json.loads((trained_run / "config.json").read_text())
    assert (config["batch_size"], config["lr_schedule"], config["gan_loss"], config["pool_size"]) == (
        1,
        "linear_decay",
        "lsgan",
        50,
    )
    assert (config["a_augment"], config["a_load_size"]) == ("flip,random_crop", 36)  # 32 x 286 / 256


def _photos(folder: Path, count: int = 3) -> Path:
    run("preprocessing.synthetic", "--domain=photo", f"--count={count}", "--size=48", f"--out={folder}")
    return folder


def test_translate_writes_each_image_and_lists_a_broken_file(trained_run, tmp_path):
    photos = _photos(tmp_path / "photos")
    (photos / "broken.png").write_text("not an image")
    result = run(
        "cyclegan.translate",
        f"--run_dir={trained_run}",
        "--direction=a2b",
        f"--input={photos}",
        f"--output={tmp_path / 'out'}",
        "--grid",
    )
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert written == ["000000.png", "000001.png", "000002.png", "grid.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "000000.png")).shape == (32, 32, 3)
    assert "broken.png" in result.stdout and "skipped:        1" in result.stdout


def test_composite_keeps_the_input_exactly_outside_the_mask(trained_run, tmp_path):
    photos = _photos(tmp_path / "photos", count=2)
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((48, 48, 3), np.uint8)
    mask[8:40, 12:36] = 255
    for name in ("000000", "000001"):
        Image.fromarray(mask).save(masks / f"{name}.png")
    plain, composited = tmp_path / "plain", tmp_path / "composited"
    for out, extra in ((plain, []), (composited, ["--composite", f"--mask_dir={masks}"])):
        run("cyclegan.translate", f"--run_dir={trained_run}", f"--input={photos}", f"--output={out}", *extra)
    alpha = (prepare_image(mask, 32).numpy()[..., 0] + 1) / 2
    for name in ("000000.png", "000001.png"):
        source = to_uint8(prepare_image(np.asarray(Image.open(photos / name)), 32))
        output = np.asarray(Image.open(composited / name))
        translated = np.asarray(Image.open(plain / name))
        np.testing.assert_array_equal(output[alpha == 0], source[alpha == 0])
        np.testing.assert_array_equal(output[alpha == 1], translated[alpha == 1])
        assert not np.array_equal(output, source)


def test_composite_with_the_person_segmenter_keeps_the_background(trained_run, face_models, tmp_path):
    photos = _photos(tmp_path / "photos", count=1)
    out = tmp_path / "out"
    result = run(
        "cyclegan.translate", f"--run_dir={trained_run}", f"--input={photos}", f"--output={out}", "--composite"
    )
    assert "written:        1" in result.stdout
    source = to_uint8(prepare_image(np.asarray(Image.open(photos / "000000.png")), 32))
    alpha = face_models.segmenter.person_mask(source)
    output = np.asarray(Image.open(out / "000000.png"))
    np.testing.assert_array_equal(output[alpha == 0], source[alpha == 0])


def test_a_missing_mask_skips_that_image_and_says_so(trained_run, tmp_path):
    photos = _photos(tmp_path / "photos", count=1)
    (tmp_path / "masks").mkdir()
    result = run(
        "cyclegan.translate",
        f"--run_dir={trained_run}",
        f"--input={photos}",
        f"--output={tmp_path / 'out'}",
        "--composite",
        f"--mask_dir={tmp_path / 'masks'}",
    )
    assert "no mask 000000.* in" in result.stdout and not (tmp_path / "out" / "000000.png").exists()


def parse_config(*argv) -> dict:
    """The config cyclegan.train resolves from the command line `argv`."""
    flag_values = flags.FlagValues()
    train.define_flags(flag_values)
    flag_values(["cyclegan.train", *argv])
    return train.resolve_config(flag_values)


@pytest.fixture
def parsed():
    """`parsed(*argv)` -> the config cyclegan.train resolves from that command line."""
    return parse_config


def test_a_recipe_sets_its_values_and_command_line_flags_win(parsed):
    config = parsed("--recipe=sgd", "--momentum=0.5")
    assert (config["optimizer"], config["learning_rate"], config["momentum"]) == ("sgd", 1e-3, 0.5)
    assert parsed("--recipe=no_cycle_no_identity")["cycle_loss"] == "none"
    assert parsed("--recipe=no_cycle_no_identity")["relative_identity_weight"] == 0.0
    assert parsed("--recipe=anime_baseline")["g_learning_rate"] == 1e-4


def test_the_old_experiment_and_lambda_flags_still_work_with_a_warning(parsed, capsys):
    old = parsed("--experiment=no_identity", "--lambda_a=3", "--lambda_b=4", "--lambda_identity=0.25")
    new = parsed("--recipe=no_identity", "--cycle_weight_a=3", "--cycle_weight_b=4", "--relative_identity_weight=0.25")

    assert old == new
    assert (new["recipe"], new["relative_identity_weight"]) == ("no_identity", 0.25)  # given: wins over the recipe
    assert not {"experiment", "lambda_a", "lambda_b", "lambda_identity"} & set(old)
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [
        "warning: --experiment is deprecated; use --recipe",
        "warning: --lambda_a is deprecated; use --cycle_weight_a",
        "warning: --lambda_b is deprecated; use --cycle_weight_b",
        "warning: --lambda_identity is deprecated; use --relative_identity_weight",
    ]


def test_dataset_dir_names_both_train_folders_and_the_generator_depth_follows_the_size(parsed):
    config = parsed("--dataset_dir=horse2zebra", "--image_size=128")
    assert (config["a_source"], config["b_source"]) == ("folder:horse2zebra/trainA", "folder:horse2zebra/trainB")
    assert (config["residual_blocks"], config["a_load_size"]) == (6, 143)
    assert parsed()["residual_blocks"] == 9 and parsed()["a_load_size"] == 286
