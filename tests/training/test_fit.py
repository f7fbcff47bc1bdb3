"""The glue on the toy GAN: what a run writes, resuming a finished run, the NaN guard."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.training.conftest import event_files, read_events, train_toy
from tests.training.toy_gan import ToyGAN, toy_dataset
from training import fit
from training.export import load_generator
from training.images import grid_image, to_unit_range


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """2 epochs x 3 steps, batch scalars every 2 steps."""
    keras.config.set_dtype_policy("float32")
    return train_toy(tmp_path_factory.mktemp("fit") / "run")


def test_tensorboard_has_scalars_every_n_steps_and_every_epoch(trained):
    scalars = read_events(event_files(trained.run.tensorboard_dir / "train"))

    for loss in ("d_loss", "g_loss"):
        assert sorted(scalars[f"batch_{loss}"]) == [2, 4, 6]
        assert sorted(scalars[f"epoch_{loss}"]) == [0, 1]
        assert float(scalars[f"epoch_{loss}"][1]) == pytest.approx(trained.history[loss][1])
    for optimizer in ("g_optimizer", "d_optimizer"):
        assert float(scalars[f"epoch_{optimizer}_learning_rate"][1]) == pytest.approx(1e-3)


def test_the_image_grid_goes_to_tensorboard_and_to_a_png_per_epoch(trained):
    images = read_events(event_files(trained.run.tensorboard_dir / "images"))["samples"]
    last_grid = tf.io.decode_png(images[1][2]).numpy() / 255.0  # [width, height, PNG...]

    assert sorted(images) == [0, 1]
    # 3 rows (source, source→target, target) x 2 samples of 8x8, 2-pixel gaps.
    assert last_grid.shape == (3 * 8 + 2 * 2, 2 * 8 + 2, 3)
    sources, targets = trained.fixed_inputs
    np.testing.assert_allclose(last_grid[:8, :8], (sources[0] + 1) / 2, atol=1 / 255)
    np.testing.assert_allclose(last_grid[-8:, -8:], (targets[1] + 1) / 2, atol=1 / 255)
    for epoch in (1, 2):
        with Image.open(trained.run.grids_dir / f"epoch_{epoch:04d}.png") as png:
            assert png.format == "PNG" and png.width > 100
    assert sorted(path.name for path in trained.run.grids_dir.iterdir()) == ["epoch_0001.png", "epoch_0002.png"]


def test_grid_image_maps_minus_one_one_to_unit_range_row_by_row():
    rows = [("a", to_unit_range(np.full((2, 4, 4, 3), -1.0))), ("b", to_unit_range(np.full((2, 4, 4, 3), 1.0)))]

    grid = grid_image(rows, gap=1)

    assert grid.shape == (9, 9, 3)
    assert (grid[:4, :4] == 0).all() and (grid[5:, 5:] == 1).all() and (grid[4] == 1).all()


def test_history_json_and_losses_png_hold_every_epoch(trained):
    history = json.loads((trained.run.run_dir / "history.json").read_text())

    assert history == trained.history
    assert history["epoch"] == [1, 2]
    assert set(history) == {"epoch", "d_loss", "g_loss"}
    assert np.isfinite(history["d_loss"] + history["g_loss"]).all()
    with Image.open(trained.run.run_dir / "losses.png") as png:
        assert png.format == "PNG"


def test_exported_generators_load_and_give_identical_outputs(trained):
    exported = load_generator(trained.run.export_dir / "source2target.keras")
    sources = trained.fixed_inputs[0]

    np.testing.assert_array_equal(exported(sources).numpy(), trained.model.generator(sources).numpy())


def test_the_backup_holds_the_final_state_with_the_optimizer_steps(trained):
    metadata = json.loads((trained.run.backup_dir / "training_metadata.json").read_text())

    assert metadata["completed_steps"] == 6
    assert int(trained.model.g_optimizer.iterations) == int(trained.model.d_optimizer.iterations) == 6


def test_rerunning_a_run_with_more_epochs_continues_it(tmp_path):
    first = train_toy(tmp_path / "run")
    weights = [w.numpy() for w in first.model.generator.weights]

    finished = train_toy(tmp_path / "run")  # nothing left to train: restores the final state
    longer = train_toy(tmp_path / "run", epochs=3)

    for restored, trained_weight in zip(finished.model.generator.weights, weights):
        np.testing.assert_array_equal(restored.numpy(), trained_weight)
    assert int(finished.model.g_optimizer.iterations) == 6
    assert int(longer.model.g_optimizer.iterations) == int(longer.model.d_optimizer.iterations) == 9
    assert longer.history["epoch"] == [1, 2, 3]
    assert longer.history["d_loss"][:2] == first.history["d_loss"]


def test_a_nan_loss_stops_training_and_keeps_the_last_good_backup(tmp_path):
    with pytest.raises(fit.TrainingDiverged, match=r"at step 5 \(epoch 2, step 2\): d_loss=nan, g_loss=nan") as error:
        train_toy(tmp_path / "run", toy_dataset(nan_from_step=5), epochs=3, backup_every_n_steps=1)

    backup_dir = tmp_path / "run" / "backup"
    assert "holds the last good state, step 4" in str(error.value)
    assert json.loads((backup_dir / "training_metadata.json").read_text())["completed_steps"] == 4
    restored = ToyGAN()
    restored(keras.KerasTensor((None, 8, 8, 3)))
    restored.load_weights(backup_dir / "latest.weights.h5")
    assert all(np.isfinite(w.numpy()).all() for w in restored.weights)
    assert not (tmp_path / "run" / "export").exists()


class LazyOptimizersToyGAN(ToyGAN):
    """Breaks the contract: leaves its optimizers to be built by the first train step."""

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        keras.Model.compile(self, **kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer


def test_restoring_into_unbuilt_optimizers_is_refused(tmp_path):
    first = train_toy(tmp_path / "run", epochs=1)
    model = fit.build_and_compile(first.run, first.run.config, LazyOptimizersToyGAN)

    with pytest.raises(ValueError, match="g_optimizer, d_optimizer not built"):
        fit.fit(model, toy_dataset(), first.run, first.run.config, first.fixed_inputs, verbose=0)
