"""GANModel through build_and_compile: each player's own learning rate, and weight constraints under XLA."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tests.training.conftest import toy_config
from tests.training.toy_gan import IMAGE_SHAPE, ToyGAN, build_discriminator, build_generator, toy_dataset
from training import fit, run
from training.constraints import ClipConstraint


class Mix(keras.layers.Layer):
    """rho * inputs + (1 - rho) * tanh(inputs), rho per channel in [0, 1]: an AdaLIN-like mixing weight."""

    def build(self, input_shape):
        self.rho = self.add_weight(
            shape=(input_shape[-1],), initializer=keras.initializers.Constant(0.9), constraint=ClipConstraint(0, 1)
        )

    def call(self, inputs):
        return self.rho * inputs + (1.0 - self.rho) * keras.ops.tanh(inputs)


class ConstrainedToyGAN(ToyGAN):
    """The toy GAN with a `Mix` layer ahead of its generator's convolution."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        images = keras.Input(IMAGE_SHAPE)
        self.mix = Mix()
        self.generator = keras.Model(images, self.generator(self.mix(images)), name="constrained_generator")


def test_each_player_gets_its_own_learning_rate_and_schedule(tmp_path):
    config = toy_config(tmp_path / "run", lr_schedule="linear_decay", g_learning_rate=3e-3, d_learning_rate=1e-4)
    model = fit.build_and_compile(run.setup_run("toy_gan", config), config, ToyGAN)

    assert model.g_optimizer.learning_rate is not model.d_optimizer.learning_rate
    assert float(model.g_optimizer.learning_rate) == pytest.approx(3e-3)
    assert float(model.d_optimizer.learning_rate) == pytest.approx(1e-4)
    model.g_optimizer.iterations.assign(config["epochs"] * config["steps_per_epoch"])
    assert float(model.g_optimizer.learning_rate) == 0.0  # the end of its linear decay


def test_a_weight_constraint_holds_after_every_xla_train_step(tmp_path):
    # Plain SGD with a large rate: unconstrained, rho leaves [0, 1] within a few steps.
    config = toy_config(tmp_path / "run", optimizer="sgd", momentum=0.0, learning_rate=20.0, jit_compile=True)
    model = fit.build_and_compile(run.setup_run("toy_gan", config), config, ConstrainedToyGAN)
    rho_per_step = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: values.append(model.mix.rho.numpy().copy())
    )
    values = []

    model.fit(toy_dataset(), epochs=1, steps_per_epoch=6, callbacks=[rho_per_step], verbose=0, shuffle=False)

    rho = np.array(values)
    assert model.jit_compile and model.generator_variables[0] is model.mix.rho
    assert rho.min() >= 0.0 and rho.max() <= 1.0
    assert np.isin(rho, [0.0, 1.0]).any()  # clipped: the updates did push it out of range
    assert not np.allclose(rho[-1], 0.9)


def test_clip_constraint_clips_elementwise_and_serialises():
    constraint = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(ClipConstraint(0, 1)))

    clipped = keras.ops.convert_to_numpy(constraint(keras.ops.array([-0.5, 0.25, 1.0, 3.0])))

    np.testing.assert_array_equal(clipped, [0.0, 0.25, 1.0, 1.0])
    with pytest.raises(ValueError, match="min_value <= max_value, got 1, 0"):
        ClipConstraint(1, 0)


class TwoGeneratorToyGAN(ToyGAN):
    """The toy GAN with its networks as CycleGAN holds them: a dict of generators and one of discriminators."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generators = {"forward": self.generator, "backward": build_generator()}
        self.discriminators = {"target": self.discriminator, "source": build_discriminator()}


def test_each_player_trains_the_variables_of_its_own_networks():
    single, several = ToyGAN(), TwoGeneratorToyGAN()

    assert single.generator_variables == single.generator.trainable_variables
    assert single.discriminator_variables == single.discriminator.trainable_variables
    for player, count in (("generator", 2 * 2), ("discriminator", 2 * 4)):  # kernels and biases of each network
        networks = getattr(several, f"{player}s").values()
        expected = [id(variable) for network in networks for variable in network.trainable_variables]
        assert [id(variable) for variable in getattr(several, f"{player}_variables")] == expected
        assert len(expected) == count
    owned = {id(variable) for variable in several.generator_variables + several.discriminator_variables}
    assert owned == {id(variable) for variable in several.trainable_variables}


def test_grid_rows_are_float32_numpy_images_of_the_same_values():
    images = np.linspace(-1, 1, 2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)
    half = keras.ops.cast(images, "bfloat16")

    rows = ToyGAN.grid_rows([("real", images), ("translated", half)])

    assert [name for name, _ in rows] == ["real", "translated"]
    for (_, row), expected in zip(rows, (images, keras.ops.convert_to_numpy(keras.ops.cast(half, "float32")))):
        assert isinstance(row, np.ndarray) and row.dtype == np.float32
        np.testing.assert_array_equal(row, expected)
    np.testing.assert_allclose(rows[1][1], images, atol=1e-2)  # bfloat16 keeps 8 bits of mantissa
