"""The generators' exponential moving average (`--ema_decay`): its update, backups and resumes, grids, exports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags as absl_flags

from evaluation import semantics
from single_gan import train as single_gan_train
from tests.training.conftest import toy_config, train_toy
from tests.training.toy_gan import IMAGE_SHAPE, ToyGAN, toy_dataset
from training import ema, fit, flags, registry, run
from training.callbacks import ImageGridCallback
from training.export import load_generator

REPO_ROOT = Path(__file__).resolve().parents[2]
DECAY = 0.9  # large steps, so a few train steps move the average visibly away from the weights


def values(variables) -> list:
    return [variable.numpy().copy() for variable in variables]


def compiled_toy(tmp_path, model_class=ToyGAN, **flag_values) -> ToyGAN:
    config = toy_config(tmp_path / "run", **flag_values)
    return fit.build_and_compile(run.setup_run("toy_gan", config), config, model_class)


def numpy_average(initial: list, steps: list, decay: float) -> list:
    """ema_0 = the initial weights; ema_t = decay * ema_(t-1) + (1 - decay) * w_t for the weights w_t after step t."""
    average = [np.array(value) for value in initial]
    for weights in steps:
        average = [decay * a + (1 - decay) * w for a, w in zip(average, weights)]
    return average


def assert_all_close(actual: list, expected: list, **tolerance) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want, **tolerance)


def assert_all_differ(first: list, second: list) -> None:
    assert all(not np.allclose(a, b, rtol=0, atol=1e-6) for a, b in zip(first, second))


@pytest.mark.parametrize(
    "setting", [{}, {"jit_compile": True}, {"mixed_precision": "mixed_bfloat16"}], ids=["graph", "xla", "bfloat16"]
)
def test_the_average_moves_as_the_numpy_update_after_every_step(tmp_path, setting):
    model = compiled_toy(tmp_path, ema_decay=DECAY, **setting)
    average = model.generator_average
    assert [id(w) for w in average.weights] == [id(w) for w in model.generator.weights]  # kernel, bias
    initial = values(average.weights)
    assert_all_close(values(average.averages), initial, rtol=0, atol=0)  # starts at the initial weights
    after_each_step = []
    recorder = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: after_each_step.append(values(average.weights))
    )

    model.fit(toy_dataset(), epochs=1, steps_per_epoch=4, callbacks=[recorder], verbose=0, shuffle=False)

    assert_all_close(values(average.averages), numpy_average(initial, after_each_step, DECAY), rtol=1e-6, atol=1e-8)
    assert_all_differ(values(average.averages), values(model.generator.weights))
    assert all(not w.trainable and w.dtype == "float32" for w in average.averages)
    assert len(model.trainable_variables) == len(ToyGAN().trainable_variables)  # the optimizers see no averages


def one_batch_dataset() -> tf.data.Dataset:
    """The same batch at every step: a resumed run and an uninterrupted one see the same data."""
    return tf.data.Dataset.from_tensors(next(iter(toy_dataset()))).repeat()


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory):
    """1 epoch x 3 steps with --ema_decay: its backup, its export."""
    keras.config.set_dtype_policy("float32")
    return train_toy(tmp_path_factory.mktemp("ema") / "run", one_batch_dataset(), epochs=1, ema_decay=DECAY)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """The same run without --ema_decay."""
    keras.config.set_dtype_policy("float32")
    return train_toy(tmp_path_factory.mktemp("plain") / "run", one_batch_dataset(), epochs=1)


def copied_run_dir(trained, tmp_path) -> Path:
    """A copy of `trained`'s run directory, to resume without touching the module's run."""
    return Path(shutil.copytree(trained.run.run_dir, tmp_path / "run"))


def test_a_resumed_run_continues_the_average_of_an_uninterrupted_one(averaged_run, tmp_path):
    uninterrupted = train_toy(tmp_path / "whole", one_batch_dataset(), epochs=2, ema_decay=DECAY).model

    resumed = train_toy(copied_run_dir(averaged_run, tmp_path), one_batch_dataset(), epochs=2, ema_decay=DECAY).model

    assert int(resumed.g_optimizer.iterations) == 6
    assert_all_close(values(resumed.generator.weights), values(uninterrupted.generator.weights), rtol=1e-6)
    expected = values(uninterrupted.generator_average.averages)
    assert_all_close(values(resumed.generator_average.averages), expected, rtol=1e-6)
    assert_all_differ(expected, values(uninterrupted.generator.weights))


def test_the_backup_keeps_the_raw_weights_and_their_averages(averaged_run, tmp_path):
    trained = averaged_run.model
    restored = compiled_toy(tmp_path, ema_decay=DECAY)
    restored(keras.KerasTensor((None, *IMAGE_SHAPE)))

    restored.load_weights(averaged_run.run.backup_dir / "latest.weights.h5")

    assert_all_close(values(restored.generator.weights), values(trained.generator.weights), rtol=0, atol=0)
    assert_all_close(
        values(restored.generator_average.averages), values(trained.generator_average.averages), rtol=0, atol=0
    )


def test_the_export_holds_the_averages_and_the_model_keeps_its_raw_weights(averaged_run):
    model = averaged_run.model
    exported = load_generator(averaged_run.run.export_path("source2target"))  # what fit exported at the end

    assert_all_close(values(exported.weights), values(model.generator_average.averages), rtol=0, atol=0)
    assert_all_differ(values(exported.weights), values(model.generator.weights))
    raw = values(model.generator.weights)
    sources, _ = averaged_run.fixed_inputs
    with ema.averages_swapped_in(model):
        np.testing.assert_array_equal(exported.predict(sources, verbose=0), model.generator.predict(sources, verbose=0))
    assert_all_close(values(model.generator.weights), raw, rtol=0, atol=0)  # swapped back


class GridRecordingToyGAN(ToyGAN):
    """The toy GAN that records its generator's weights whenever it draws a grid."""

    def sample_grid(self, sources, targets) -> list:
        self.drawn_with = values(self.generator.weights)
        return super().sample_grid(sources, targets)


def test_the_grids_draw_with_the_averages(tmp_path):
    model = compiled_toy(tmp_path, GridRecordingToyGAN, ema_decay=DECAY)
    grids = ImageGridCallback(fit.take_fixed_inputs(toy_dataset(), 2), run.RunLayout(tmp_path / "grids"))

    model.fit(toy_dataset(), epochs=1, steps_per_epoch=3, callbacks=[grids], verbose=0, shuffle=False)

    assert_all_close(model.drawn_with, values(model.generator_average.averages), rtol=0, atol=0)
    assert_all_differ(model.drawn_with, values(model.generator.weights))  # the raw weights are back
    assert (tmp_path / "grids" / "grids" / "epoch_0001.png").is_file()


def test_decay_0_keeps_no_average_and_exports_and_backs_up_the_raw_weights(plain_run):
    model = plain_run.model

    assert model.generator_average is None and plain_run.run.config["ema_decay"] == 0.0
    with h5py.File(plain_run.run.backup_dir / "latest.weights.h5", "r") as backup:
        assert not list(backup.get("vars", {}))  # the model's own variables: none
    exported = load_generator(plain_run.run.export_path("source2target"))
    assert_all_close(values(exported.weights), values(model.generator.weights), rtol=0, atol=0)


def test_a_run_resumed_without_ema_decay_drops_the_averages(averaged_run, tmp_path):
    resumed = train_toy(copied_run_dir(averaged_run, tmp_path), one_batch_dataset(), epochs=2, ema_decay=0.0).model

    assert resumed.generator_average is None and int(resumed.g_optimizer.iterations) == 6


def test_a_run_resumed_with_ema_decay_newly_set_starts_the_average_at_the_restored_weights(plain_run, tmp_path):
    model = compiled_toy(tmp_path, ema_decay=DECAY)
    model(keras.KerasTensor((None, *IMAGE_SHAPE)))

    model.load_weights(plain_run.run.backup_dir / "latest.weights.h5")

    restored = values(model.generator.weights)
    assert_all_close(restored, values(plain_run.model.generator.weights), rtol=0, atol=0)
    assert_all_close(values(model.generator_average.averages), restored, rtol=0, atol=0)


def test_a_weights_file_with_another_number_of_averages_is_refused(averaged_run, tmp_path):
    model = compiled_toy(tmp_path, ema_decay=DECAY)
    model.generator_average.averages.pop()  # as a model whose generators hold one weight fewer
    model(keras.KerasTensor((None, *IMAGE_SHAPE)))

    with pytest.raises(ValueError, match="holds 2 generator averages where this model keeps 1"):
        model.load_weights(averaged_run.run.backup_dir / "latest.weights.h5")


def test_the_whole_model_round_trips_with_its_averages(tmp_path):
    model = compiled_toy(tmp_path, ema_decay=DECAY)
    model(keras.KerasTensor((None, *IMAGE_SHAPE)))
    model.fit(toy_dataset(), epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
    model.save(tmp_path / "toy.keras")

    restored = keras.saving.load_model(tmp_path / "toy.keras")

    assert restored.generator_average.decay == DECAY
    assert_all_close(
        values(restored.generator_average.averages), values(model.generator_average.averages), rtol=0, atol=0
    )


@pytest.mark.parametrize("value", ["1", "-0.1"])
def test_the_flag_refuses_a_decay_outside_0_1(value):
    flag_values = absl_flags.FlagValues()
    flags.define_common_flags(flag_values)

    with pytest.raises(absl_flags.IllegalFlagValueError, match=r"ema_decay.*must be in \[0, 1\)"):
        flag_values(["train", f"--ema_decay={value}"])


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import keras
    import numpy as np
    import tensorflow as tf

    # Two logical CPUs: must be configured before TensorFlow initialises its devices.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from tests.training.toy_gan import ToyGAN, toy_dataset

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = ToyGAN()
        model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), ema_decay=0.5, optimizer=None)
    average = model.generator_average
    weights = [[w.numpy().tolist() for w in average.weights]]
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: weights.append([w.numpy().tolist() for w in average.weights])
    )
    model.fit(toy_dataset(batch_size=4), epochs=1, steps_per_epoch=3, callbacks=[record], verbose=0, shuffle=False)
    copies = [[c.numpy().tolist() for c in strategy.experimental_local_results(a.value)] for a in average.averages]
    raw = [[c.numpy().tolist() for c in strategy.experimental_local_results(w.value)] for w in average.weights]
    print(json.dumps({"weights": weights, "averages": copies, "raw": raw}))
    """
)


def test_under_a_mirrored_strategy_every_replica_keeps_the_same_average_of_each_step():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    initial, *after_each_step = ([np.array(w) for w in weights] for weights in report["weights"])
    expected = numpy_average(initial, after_each_step, 0.5)
    for copies, raw_copies, want, last in zip(report["averages"], report["raw"], expected, after_each_step[-1]):
        assert len(copies) == 2  # one per replica
        for copy in copies:  # once per step on each replica: the same as on one device
            np.testing.assert_allclose(copy, want, rtol=1e-6, atol=1e-8)
        assert not np.allclose(want, last)
        np.testing.assert_array_equal(raw_copies[0], raw_copies[1])


def test_a_tiny_single_gan_cli_run_with_ema_decay_exports_the_averages(tmp_path):
    run_dir = tmp_path / "run"
    arguments = ["--epochs=1", "--steps_per_epoch=2", "--source=synthetic:cartoon:8", "--batch_size=4"]
    arguments += ["--generator_filters=16,8,4", "--discriminator_filters=4,8", "--num_grid_samples=2"]
    flag_values = absl_flags.FlagValues()
    single_gan_train.define_flags(flag_values)
    flag_values(["single_gan.train", "--ema_decay=0.999", f"--run_dir={run_dir}", *arguments])

    single_gan_train.train(single_gan_train.resolve_config(flag_values))  # what `python -m single_gan.train` does

    layout = run.RunLayout(run_dir)
    config = layout.read_config()
    assert config["ema_decay"] == 0.999
    model = fit.compile_for_training(registry.get("single_gan").build(config), config)
    model(keras.KerasTensor((None, config["noise_dim"])))
    model.load_weights(layout.backup_dir / "latest.weights.h5")  # the raw weights and their averages
    exported = values(load_generator(layout.export_path("generator")).weights)
    assert_all_close(exported, values(model.generator_average.averages), rtol=0, atol=0)
    raw = values(model.generator.weights)
    assert any(not np.allclose(e, r, rtol=0, atol=1e-7) for e, r in zip(exported, raw))


def test_the_semantics_report_says_when_it_scores_the_averages():
    assert semantics.averaged_weights_note({"ema_decay": 0.999}) == (
        ", the moving average of its generator weights (--ema_decay=0.999)"
    )
    assert semantics.averaged_weights_note({"ema_decay": 0.0}) == semantics.averaged_weights_note(None) == ""
