"""A model's further optimizers (`GANModel.extra_optimizers`): made by the harness, built, saved with the weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks import train_step as benchmark_train_step
from tests.training.conftest import toy_config
from tests.training.toy_gan import IMAGE_SHAPE, ToyGAN, toy_dataset
from training import fit, gradients, registry, run

ENCODER_RATE = 5e-3


class EncodingToyGAN(ToyGAN):
    """The toy GAN with a third network, an encoder trained by an optimizer of its own after both players."""

    extra_optimizers = {"encoder_optimizer": "encoder_learning_rate"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        images = keras.Input(IMAGE_SHAPE)
        self.encoder = keras.Model(images, keras.layers.Dense(2)(keras.layers.Flatten()(images)), name="encoder")

    def optimizer_variables(self, name):
        return self.encoder.trainable_variables if name == "encoder_optimizer" else super().optimizer_variables(name)

    def train_step(self, data):
        logs = super().train_step(data)
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(keras.ops.square(self.encoder(data[0]) - 1.0))
            scaled = gradients.scale_loss(self.encoder_optimizer, loss)
        gradients.apply_gradients(tape, self.encoder_optimizer, scaled, self.encoder.trainable_variables)
        return logs


def compiled(tmp_path, **flag_values) -> EncodingToyGAN:
    config = {**toy_config(tmp_path / "run", **flag_values), "encoder_learning_rate": ENCODER_RATE}
    model = fit.build_and_compile(run.setup_run("toy_gan", config), config, EncodingToyGAN)
    model(np.zeros((1, *IMAGE_SHAPE), "float32"))  # built, as `fit.fit` builds it, so its weights can be saved
    return model


def test_the_harness_makes_each_extra_optimizer_at_its_own_rate_built_on_its_variables(tmp_path):
    model = compiled(tmp_path, g_learning_rate=3e-3)

    assert model.optimizer_names == ("g_optimizer", "d_optimizer", "encoder_optimizer")
    assert model.encoder_optimizer.name == "encoder_optimizer"
    assert float(model.encoder_optimizer.learning_rate) == pytest.approx(ENCODER_RATE)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(3e-3)
    assert model.encoder_optimizer.built
    slots = {tuple(v.shape) for v in model.encoder_optimizer.variables if v is not model.encoder_optimizer.iterations}
    assert slots >= {tuple(v.shape) for v in model.encoder.trainable_variables}


def test_compile_requires_the_declared_optimizers():
    with pytest.raises(TypeError, match="needs the optimizers encoder_optimizer"):
        EncodingToyGAN().compile(g_optimizer=keras.optimizers.Adam(), d_optimizer=keras.optimizers.Adam())
    with pytest.raises(NotImplementedError, match="what encoder_optimizer trains"):
        ToyGAN().optimizer_variables("encoder_optimizer")


def test_save_and_load_weights_restore_every_optimizer_state(tmp_path):
    model = compiled(tmp_path)
    model.fit(toy_dataset(), epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
    path = str(tmp_path / "state.weights.h5")
    model.save_weights(path)

    restored = compiled(tmp_path / "restored")
    restored.load_weights(path)

    for name in model.optimizer_names:
        saved, loaded = getattr(model, name), getattr(restored, name)
        assert int(loaded.iterations) == int(saved.iterations) == 3, name
        for a, b in zip(saved.variables, loaded.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(restored.encoder.get_weights()[0], model.encoder.get_weights()[0])


def test_the_compile_config_rebuilds_the_extra_optimizer(tmp_path):
    model = compiled(tmp_path)

    fresh = EncodingToyGAN()
    fresh.compile_from_config(model.get_compile_config())

    assert isinstance(fresh.encoder_optimizer, type(model.encoder_optimizer))
    assert float(fresh.encoder_optimizer.learning_rate) == pytest.approx(ENCODER_RATE)
    assert fresh.encoder_optimizer.built


def test_the_benchmark_compiles_the_extra_optimizers():
    setting = registry.Benchmark(input_shapes=((2, *IMAGE_SHAPE),) * 2)

    model, _ = benchmark_train_step.build(lambda: EncodingToyGAN(), setting, jit_compile=False)

    assert model.encoder_optimizer.built


def shared_loss_updates(optimizers):
    """The toy's encoder and generator, each with its optimizer, after one step on the same loss."""
    model = EncodingToyGAN()
    networks = (model.encoder, model.generator)
    images = np.random.default_rng(0).uniform(-1, 1, (2, *IMAGE_SHAPE)).astype("float32")
    for optimizer, network in zip(optimizers, networks):
        optimizer.build(network.trainable_variables)

    def loss():
        return keras.ops.mean(model.encoder(images)) + keras.ops.mean(keras.ops.square(model.generator(images)))

    with tf.GradientTape(persistent=True) as tape:
        value = loss()
    expected_gradients = [tape.gradient(value, network.trainable_variables) for network in networks]
    before = [[v.numpy() for v in network.trainable_variables] for network in networks]
    with tf.GradientTape(persistent=gradients.scales_losses(optimizers)) as tape:
        value = loss()
        scaled = [gradients.scale_loss(optimizer, value) for optimizer in optimizers]
    gradients.apply_gradients_of_one_loss(
        tape, [(o, s, n.trainable_variables) for o, s, n in zip(optimizers, scaled, networks)]
    )
    return networks, before, expected_gradients


@pytest.mark.parametrize("loss_scaled", [False, True], ids=["one_backward_pass", "loss_scaled"])
def test_one_loss_applied_by_several_optimizers_steps_each_by_its_own_gradients(loss_scaled):
    rates = (0.5, 0.25)
    optimizers = [keras.optimizers.SGD(rate) for rate in rates]
    if loss_scaled:
        optimizers = [keras.optimizers.LossScaleOptimizer(optimizer) for optimizer in optimizers]

    networks, before, expected_gradients = shared_loss_updates(optimizers)

    for network, values, grads, rate in zip(networks, before, expected_gradients, rates):
        for variable, value, gradient in zip(network.trainable_variables, values, grads):
            np.testing.assert_allclose(variable.numpy(), value - rate * gradient.numpy(), rtol=1e-5, atol=1e-6)
