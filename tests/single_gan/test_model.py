"""single_gan.model.DCGAN: a training step, its trackers, noise, precision, export and serialisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

from single_gan.model import DCGAN, TRACKED, fixed_noise
from training.export import export_generators, load_generator
from training.run import RunLayout

TINY = dict(generator_filters=(16, 8, 4), discriminator_filters=(4, 8))


@pytest.fixture(scope="module")
def real_images() -> np.ndarray:
    return np.random.default_rng(6).uniform(-1.0, 1.0, (4, 64, 64, 3)).astype(np.float32)


def adam() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)


def compiled(**kwargs) -> DCGAN:
    model = DCGAN(**TINY, seed=0, **kwargs)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    return model


def values(variables) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(variable) for variable in variables]


def unchanged(before: list[np.ndarray], variables) -> list[str]:
    return [variable.path for old, variable in zip(before, variables) if np.array_equal(old, variable.numpy())]


def test_the_players_variables_are_their_networks():
    model = DCGAN(**TINY)
    assert model.generator_variables == model.generator.trainable_variables
    assert model.discriminator_variables == model.discriminator.trainable_variables
    assert len(model.generator_variables) + len(model.discriminator_variables) == len(model.trainable_variables)


def test_one_train_step_updates_every_trainable_variable_of_both_players(real_images):
    model = compiled()
    generator_before = values(model.generator_variables)
    discriminator_before = values(model.discriminator_variables)

    logs = model.train_step(real_images)

    assert sorted(logs) == sorted(TRACKED)
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert not unchanged(generator_before, model.generator_variables)
    assert not unchanged(discriminator_before, model.discriminator_variables)
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 1


def test_trackers_report_the_discriminator_step_losses_and_probabilities(real_images):
    """A discriminator that says logit b to everything: D(real) = D(fake) = σ(b), L_D = 2 softplus(-b) ... exactly."""
    model = compiled()
    logit_layer = model.discriminator.get_layer("logit")
    logit_layer.kernel.assign(np.zeros(logit_layer.kernel.shape, np.float32))
    logit_layer.bias.assign([2.0])

    logs = {name: float(value) for name, value in model.train_step(real_images).items()}

    sigmoid = 1.0 / (1.0 + np.exp(-2.0))
    assert logs["d_real"] == pytest.approx(sigmoid, rel=1e-6)
    assert logs["d_fake"] == pytest.approx(sigmoid, rel=1e-6)
    # ℓ(1, 2) + ℓ(0, 2) = softplus(-2) + softplus(2).
    assert logs["d_loss"] == pytest.approx(np.logaddexp(0, -2.0) + np.logaddexp(0, 2.0), rel=1e-5)


def test_trackers_are_the_metrics_fit_resets_every_epoch(real_images):
    model = compiled()
    history = model.fit(real_images, epochs=2, batch_size=4, shuffle=False, verbose=0).history
    assert [metric.name for metric in model.metrics] == list(TRACKED)
    assert sorted(history) == sorted(TRACKED) and all(len(history[name]) == 2 for name in TRACKED)


def test_each_draw_of_training_noise_is_new_and_seeded():
    first, second = DCGAN(**TINY, seed=3), DCGAN(**TINY, seed=3)
    draws = [keras.ops.convert_to_numpy(first.sample_noise(5)) for _ in range(2)]
    assert draws[0].shape == (5, 100) and not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(second.sample_noise(5)), draws[0])


def test_a_single_device_draws_what_keras_random_normal_draws():
    model, reference = DCGAN(**TINY, seed=3), keras.random.SeedGenerator(3)
    for _ in range(2):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(model.sample_noise(5)),
            keras.ops.convert_to_numpy(keras.random.normal((5, 100), seed=reference)),
        )


MIRRORED_NOISE_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from single_gan.model import DCGAN

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = DCGAN(generator_filters=(16, 8, 4), discriminator_filters=(4, 8), seed=3)
    draws = strategy.run(tf.function(lambda: model.sample_noise(2)))
    print(json.dumps([draw.numpy().tolist() for draw in strategy.experimental_local_results(draws)]))
    """
)


def test_under_mirrored_strategy_each_replica_draws_its_own_noise():
    repo_root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_NOISE_SCRIPT],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (np.array(draw) for draw in json.loads(result.stdout.strip().splitlines()[-1]))
    assert first.shape == second.shape == (2, 100)
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(first, keras.random.normal((2, 100), seed=keras.random.SeedGenerator(3)))


def test_fixed_noise_depends_only_on_the_seed():
    np.testing.assert_array_equal(fixed_noise(4, 100, seed=1), fixed_noise(4, 100, seed=1))
    assert not np.array_equal(fixed_noise(4, 100, seed=1), fixed_noise(4, 100, seed=2))
    np.testing.assert_array_equal(fixed_noise(6, 100, seed=1)[:4], fixed_noise(4, 100, seed=1))
    assert fixed_noise(4, 100, seed=1).dtype == np.float32


def test_sample_grid_draws_the_fixed_noise_in_rows_of_8():
    model = DCGAN(**TINY)
    noise = fixed_noise(19, 100, seed=0)

    rows = model.sample_grid(noise)

    assert [name for name, _ in rows] == ["z 1-8", "z 9-16", "z 17-19"]
    assert [images.shape for _, images in rows] == [(8, 64, 64, 3), (8, 64, 64, 3), (3, 64, 64, 3)]
    expected = keras.ops.convert_to_numpy(model.generator(noise, training=False))
    np.testing.assert_array_equal(np.concatenate([images for _, images in rows]), expected)


def test_a_mixed_float16_step_has_finite_losses_and_float32_images(real_images):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = DCGAN(**TINY, seed=0)
        model.compile(
            g_optimizer=keras.optimizers.LossScaleOptimizer(adam()),
            d_optimizer=keras.optimizers.LossScaleOptimizer(adam()),
        )
        assert model.generator.get_layer("deconv1").compute_dtype == "float16"
        # A step whose scaled float16 gradients overflow is skipped and the loss scale halved: go on until both
        # optimisers have applied one.
        for _ in range(5):
            logs = model.train_step(real_images)
            assert all(np.isfinite(float(value)) for value in logs.values()), logs
            if int(model.g_optimizer.iterations) and int(model.d_optimizer.iterations):
                break
        images = model.sample_grid(fixed_noise(2, 100, seed=0))[0][1]
    finally:
        keras.config.set_dtype_policy("float32")
    assert int(model.g_optimizer.iterations) >= 1 and int(model.d_optimizer.iterations) >= 1
    assert images.dtype == np.float32


def test_the_exported_generator_loads_and_gives_identical_outputs(real_images, tmp_path):
    model = compiled()
    model.train_step(real_images)  # moves the batch-norm statistics off their initial values

    paths = export_generators(model, RunLayout(tmp_path))

    assert sorted(paths) == ["generator"]
    noise = fixed_noise(3, 100, seed=5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(load_generator(paths["generator"])(noise)),
        keras.ops.convert_to_numpy(model.generator(noise, training=False)),
    )


def test_the_whole_model_round_trips_through_a_keras_file(real_images, tmp_path):
    model = compiled(noise_dim=12)
    model.train_step(real_images)
    model.save(tmp_path / "dcgan.keras")

    restored = keras.saving.load_model(tmp_path / "dcgan.keras")

    assert isinstance(restored, DCGAN)
    assert json.dumps(restored.get_config()) == json.dumps(model.get_config())
    assert restored.generator_filters == (16, 8, 4) and restored.noise_dim == 12
    noise = fixed_noise(2, 12, seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(noise)), keras.ops.convert_to_numpy(model(noise)))
    assert int(restored.d_optimizer.iterations) == 1
