"""The train and sample CLIs end to end on tiny settings (in process, and `-m single_gan.sample` once); the recipes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from absl import flags
from PIL import Image

from single_gan import sample, train
from single_gan.model import fixed_noise
from single_gan.sample import slerp
from tests.training.conftest import event_files, read_events
from training.export import load_generator
from training.translate import to_uint8

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_FLAGS = ["--generator_filters=16,8,4", "--discriminator_filters=4,8", "--batch_size=4", "--num_grid_samples=10"]
SEED = 3


def parse(module, *arguments) -> flags.FlagValues:
    """`module`'s flags parsed from `arguments`, in a fresh FlagValues."""
    values = flags.FlagValues()
    module.define_flags(values)
    values([module.__name__, *arguments])
    return values


def parsed_config(*arguments) -> dict:
    return train.resolve_config(parse(train, *arguments))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """2 epochs x 2 steps of the tiny DCGAN on 12 synthetic cartoons, as `python -m single_gan.train` runs."""
    run_dir = tmp_path_factory.mktemp("single_gan") / "run"
    train.train(
        parsed_config(
            "--epochs=2",
            "--steps_per_epoch=2",
            "--log_every_n_steps=1",
            f"--seed={SEED}",
            "--source=synthetic:cartoon:12",
            f"--run_dir={run_dir}",
            *TINY_FLAGS,
        )
    )
    return run_dir


def sample_grid_png(*arguments) -> tuple[int, np.ndarray | None]:
    """(exit code, the written grid) of the sample CLI's work with `arguments`."""
    values = parse(sample, *arguments)
    code = sample.sample_to_file(values)
    return code, np.asarray(Image.open(values.out)) if code == 0 else None


def tiles(grid: np.ndarray, count: int, columns: int, size: int = 64, gap: int = 2) -> np.ndarray:
    """The first `count` images of a sample grid, in order."""
    step = size + gap
    return np.stack([grid[(i // columns) * step :][:size, (i % columns) * step :][:, :size] for i in range(count)])


def test_train_writes_tensorboard_grids_their_gif_losses_and_the_generator(run_dir):
    assert event_files(run_dir / "tensorboard" / "train") and event_files(run_dir / "tensorboard" / "images")
    assert sorted(p.name for p in (run_dir / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    with Image.open(run_dir / "grids.gif") as gif:
        assert gif.is_animated and gif.n_frames == 2
    history = json.loads((run_dir / "history.json").read_text())
    assert set(history) == {"epoch", "d_loss", "g_loss", "d_real", "d_fake"} and history["epoch"] == [1, 2]
    assert (run_dir / "losses.png").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["recipe"], config["learning_rate"], config["normalize"]) == ("exp3", 2e-4, True)
    assert config["generator_filters"] == [16, 8, 4] and config["source"] == "synthetic:cartoon:12"
    assert load_generator(run_dir / "export" / "generator.keras").input_shape == (None, 100)


def test_python_m_sample_draws_the_exported_generators_images_exactly(run_dir, tmp_path):
    out = tmp_path / "samples" / "grid.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "single_gan.sample",
            f"--run_dir={run_dir}",
            "--n=7",
            "--columns=3",
            "--seed=11",
            f"--out={out}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    grid = np.asarray(Image.open(out))
    assert grid.shape == (3 * 64 + 2 * 2, 3 * 64 + 2 * 2, 3)
    generator = load_generator(run_dir / "export" / "generator.keras")
    np.testing.assert_array_equal(tiles(grid, 7, columns=3), to_uint8(generator(fixed_noise(7, 100, seed=11))))
    assert (grid[64:66] == 255).all()  # the gap between the first two rows
    assert str(out) in result.stdout


def test_sample_with_the_training_seed_redraws_the_last_training_grid(run_dir, tmp_path):
    code, grid = sample_grid_png(f"--run_dir={run_dir}", "--n=10", f"--seed={SEED}", f"--out={tmp_path / 'g.png'}")

    samples = read_events(event_files(run_dir / "tensorboard" / "images"))["samples"]
    last_training_grid = np.asarray(Image.open(io.BytesIO(samples[1][2])))  # [width, height, PNG] of epoch 2
    assert code == 0 and grid.shape == last_training_grid.shape == (2 * 64 + 2, 8 * 64 + 7 * 2, 3)
    # TensorBoard's float -> uint8 conversion rounds differently, by one level at most.
    assert np.abs(grid.astype(int) - last_training_grid).max() <= 1


def test_sample_interpolate_walks_between_the_seeds_two_noise_vectors(run_dir, tmp_path):
    code, grid = sample_grid_png(
        f"--run_dir={run_dir}", "--n=5", "--columns=5", "--seed=2", "--interpolate", f"--out={tmp_path / 'walk.png'}"
    )

    images = tiles(grid, 5, columns=5)
    generator = load_generator(run_dir / "export" / "generator.keras")
    np.testing.assert_array_equal(images[[0, -1]], to_uint8(generator(fixed_noise(2, 100, seed=2))))
    assert code == 0 and len({image.tobytes() for image in images}) == 5


def test_slerp_keeps_the_ends_and_the_norm_of_equal_length_vectors():
    start, end = fixed_noise(2, 100, seed=0)
    end = end / np.linalg.norm(end) * np.linalg.norm(start)
    path = slerp(start, end, 9)
    np.testing.assert_allclose(path[[0, -1]], [start, end], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(start), rtol=1e-5)


def test_sample_without_a_trained_run_is_a_one_line_error(tmp_path, capsys):
    code, _ = sample_grid_png(f"--run_dir={tmp_path}")
    assert code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {tmp_path}/export/generator.keras: no exported generator (train first with "
        "`python -m single_gan.train`, which exports it to <run_dir>/export/)"
    ]


@pytest.mark.parametrize(
    "recipe, learning_rate, normalize",
    [
        ("exp1", 2e-4, False),
        ("exp2", 1e-3, True),
        ("exp3", 2e-4, True),
    ],
)
def test_recipes_set_the_learning_rate_and_normalisation(recipe, learning_rate, normalize):
    config = parsed_config(f"--recipe={recipe}")
    assert (config["recipe"], config["learning_rate"], config["normalize"]) == (recipe, learning_rate, normalize)
    # The report's shared setting.
    assert (config["batch_size"], config["beta_1"], config["beta_2"], config["noise_dim"]) == (128, 0.5, 0.999, 100)


def test_the_default_recipe_is_exp3():
    assert parsed_config()["recipe"] == "exp3"


def test_the_old_preset_flag_still_picks_the_recipe_with_a_one_line_warning(capsys):
    config = parsed_config("--preset=exp1")
    assert (config["recipe"], config["normalize"]) == ("exp1", False) and "preset" not in config
    assert capsys.readouterr().err == "warning: --preset is deprecated; use --recipe\n"


def test_flags_given_on_the_command_line_override_the_recipe():
    config = parsed_config("--recipe=exp2", "--learning_rate=5e-4", "--nonormalize")
    assert (config["learning_rate"], config["normalize"]) == (5e-4, False)
    # Given, even when equal to its default: exp2's 1e-3 does not replace it.
    assert parsed_config("--recipe=exp2", "--learning_rate=2e-4")["learning_rate"] == 2e-4


def test_exp1_feeds_the_images_in_0_255():
    config = parsed_config("--recipe=exp1", "--source=synthetic:cartoon:8", "--batch_size=8")
    images = next(iter(train.build_dataset(config))).numpy()
    # White backgrounds and dark outlines: the cartoons span the whole [0, 255] range.
    assert images.min() < 60 and images.max() == 255.0


def test_every_flag_has_help():
    values = flags.FlagValues()
    train.define_flags(values)
    for name in (
        "recipe",
        "normalize",
        "source",
        "crop",
        "noise_dim",
        "generator_filters",
        "discriminator_filters",
        "learning_rate",
        "run_dir",
        "mixed_precision",
    ):
        assert values[name].help
    assert "(default: '256,128,64,32')" in values.get_help()
    with pytest.raises(flags.IllegalFlagValueError, match="positive integers"):
        parse(train, "--generator_filters=64,0")


def test_the_players_learning_rates_follow_the_recipe_unless_given():
    config = parsed_config("--recipe=exp2", "--d_learning_rate=4e-4")
    assert (config["learning_rate"], config["g_learning_rate"], config["d_learning_rate"]) == (1e-3, 1e-3, 4e-4)


def test_python_m_train_refuses_a_negative_learning_rate_naming_the_flag():
    result = subprocess.run(
        [sys.executable, "-m", "single_gan.train", "--learning_rate=-1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    errors = [line for line in result.stderr.splitlines() if "Flags parsing error" in line]
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert errors == ["FATAL Flags parsing error: flag --learning_rate=-1.0: must be > 0"]
