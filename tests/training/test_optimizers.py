"""Optimizers built from the config: Adam or SGD, weight decay coupled or decoupled, against NumPy references."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import toy_config
from training.optimizers import CoupledAdam, FusedAdam, make_optimizer

STEPS_PER_EPOCH = 10


def test_adam_takes_the_betas(tmp_path):
    optimizer = make_optimizer(toy_config(tmp_path, beta_1=0.5, beta_2=0.99, learning_rate=2e-4), STEPS_PER_EPOCH)

    assert type(optimizer) is FusedAdam
    assert (optimizer.beta_1, optimizer.beta_2) == (0.5, 0.99)
    assert float(optimizer.learning_rate) == pytest.approx(2e-4)
    assert optimizer.weight_decay is None


@pytest.mark.parametrize(
    "optimizer_name, expected_class", [("adam", keras.optimizers.AdamW), ("sgd", keras.optimizers.SGD)]
)
def test_weight_decay_shrinks_the_weights_by_lr_times_decay(tmp_path, optimizer_name, expected_class):
    config = toy_config(tmp_path, optimizer=optimizer_name, weight_decay=0.1, learning_rate=1e-2, momentum=0.9)
    optimizer = make_optimizer(config, STEPS_PER_EPOCH)
    weight = keras.Variable(np.ones(3, "float32"))

    optimizer.apply([keras.ops.zeros(3)], [weight])  # no gradient: only the decay moves the weight

    assert type(optimizer) is expected_class
    assert optimizer.weight_decay == pytest.approx(0.1)
    np.testing.assert_allclose(weight.numpy(), 1 - 1e-2 * 0.1, rtol=1e-6)


def test_sgd_takes_the_momentum(tmp_path):
    optimizer = make_optimizer(toy_config(tmp_path, optimizer="sgd", momentum=0.8), STEPS_PER_EPOCH)

    assert type(optimizer) is keras.optimizers.SGD
    assert optimizer.momentum == 0.8
    assert optimizer.weight_decay is None


def test_mixed_float16_wraps_each_new_optimizer_in_loss_scaling(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")  # the float32_policy fixture restores float32
    config = toy_config(tmp_path, beta_1=0.5)

    g_optimizer, d_optimizer = make_optimizer(config, STEPS_PER_EPOCH), make_optimizer(config, STEPS_PER_EPOCH)

    assert g_optimizer is not d_optimizer
    for optimizer in (g_optimizer, d_optimizer):
        assert type(optimizer) is keras.optimizers.LossScaleOptimizer
        assert type(optimizer.inner_optimizer) is FusedAdam
        assert optimizer.inner_optimizer.beta_1 == 0.5
    assert g_optimizer.inner_optimizer is not d_optimizer.inner_optimizer


def test_the_optimizer_follows_its_schedule(tmp_path):
    config = toy_config(tmp_path, lr_schedule="linear_decay", learning_rate=1e-3, epochs=4, decay_start_epoch=2)
    optimizer = make_optimizer(config, STEPS_PER_EPOCH)
    optimizer.build([keras.Variable(np.ones(1, "float32"))])

    optimizer.iterations.assign(30)

    assert float(optimizer.learning_rate) == pytest.approx(0.5e-3)


def numpy_adam(weights, gradients, learning_rate, weight_decay, mode, beta_1=0.5, beta_2=0.999, epsilon=1e-7):
    """Keras's Adam steps on `weights`, one per entry of `gradients` (of the loss, before any decay)."""
    m, v = np.zeros_like(weights), np.zeros_like(weights)
    for step, gradient in enumerate(gradients, start=1):
        if mode == "coupled":
            gradient = gradient + weight_decay * weights
        else:
            weights = weights - learning_rate * weight_decay * weights
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient**2
        rate = learning_rate * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        weights = weights - rate * m / (np.sqrt(v) + epsilon)
    return weights


def numpy_sgd(weights, gradients, learning_rate, weight_decay, mode, momentum=0.9):
    """Keras's SGD-with-momentum steps on `weights`, one per entry of `gradients`."""
    velocity = np.zeros_like(weights)
    for gradient in gradients:
        if mode == "coupled":
            gradient = gradient + weight_decay * weights
        else:
            weights = weights - learning_rate * weight_decay * weights
        velocity = momentum * velocity - learning_rate * gradient
        weights = weights + velocity
    return weights


@pytest.mark.parametrize("mode", ["coupled", "decoupled"])
@pytest.mark.parametrize("optimizer_name, reference", [("adam", numpy_adam), ("sgd", numpy_sgd)])
def test_weight_decay_modes_match_numpy_under_xla(tmp_path, mode, optimizer_name, reference):
    config = toy_config(
        tmp_path, optimizer=optimizer_name, weight_decay=0.5, weight_decay_mode=mode, learning_rate=0.1, beta_1=0.5
    )
    optimizer = make_optimizer(config, STEPS_PER_EPOCH)
    rng = np.random.default_rng(0)
    start = rng.normal(size=5).astype("float32")
    gradients = rng.normal(size=(3, 5)).astype("float32")
    weight = keras.Variable(start)
    optimizer.build([weight])

    @tf.function(jit_compile=True)
    def step(gradient):
        optimizer.apply([gradient], [weight])

    for gradient in gradients:
        step(gradient)

    expected = reference(start.astype("float64"), gradients.astype("float64"), 0.1, 0.5, mode)
    np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-5, atol=1e-6)
    # The two modes differ by far more than the tolerance: the test tells them apart.
    other = reference(start, gradients, 0.1, 0.5, "decoupled" if mode == "coupled" else "coupled")
    assert np.abs(other - expected).max() > 1e-2


def test_coupled_weight_decay_survives_loss_scaling(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")  # the float32_policy fixture restores float32
    config = toy_config(tmp_path, weight_decay=0.5, weight_decay_mode="coupled", learning_rate=0.1, beta_1=0.5)
    optimizer = make_optimizer(config, STEPS_PER_EPOCH)
    start, gradient = np.array([1.0, -2.0], "float32"), np.array([0.3, 0.1], "float32")
    weight = keras.Variable(start)
    optimizer.build([weight])

    optimizer.apply([gradient * float(optimizer.dynamic_scale)], [weight])  # a scaled loss's gradient

    assert type(optimizer.inner_optimizer).__name__ == "CoupledAdam"
    np.testing.assert_allclose(weight.numpy(), numpy_adam(start, [gradient], 0.1, 0.5, "coupled"), rtol=1e-5)


@pytest.mark.parametrize("weight_decay", [1e-4, 0.0])
def test_coupled_adam_matches_numpy_at_the_references_decay_and_at_none(weight_decay):
    """U-GAT-IT's wd of 1e-4 on gradients from 1e-6 to 1e2, and wd 0."""
    rng = np.random.default_rng(1)
    start = rng.normal(size=8).astype("float32")
    gradients = (rng.normal(size=(3, 8)) * np.logspace(-6, 2, 8)).astype("float32")
    weight = keras.Variable(start)
    optimizer = CoupledAdam(1e-3, beta_1=0.5, weight_decay=weight_decay)
    optimizer.build([weight])

    for gradient in gradients:
        optimizer.apply([gradient], [weight])

    expected = numpy_adam(start.astype("float64"), gradients.astype("float64"), 1e-3, weight_decay, "coupled")
    np.testing.assert_allclose(weight.numpy(), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("optimizer_name", ["adam", "sgd"])
def test_coupled_optimizers_serialise(tmp_path, optimizer_name):
    config = toy_config(tmp_path, optimizer=optimizer_name, weight_decay=0.25, weight_decay_mode="coupled")
    optimizer = make_optimizer(config, STEPS_PER_EPOCH, name="g_optimizer")

    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))

    assert type(restored) is type(optimizer) and type(optimizer).__name__.startswith("Coupled")
    assert (restored.weight_decay, restored.name) == (0.25, "g_optimizer")


def test_a_players_own_learning_rate_gets_its_own_schedule(tmp_path):
    config = toy_config(tmp_path, lr_schedule="linear_decay", learning_rate=1e-3, epochs=4, decay_start_epoch=2)
    g_optimizer = make_optimizer(config, STEPS_PER_EPOCH, learning_rate=4e-3)
    d_optimizer = make_optimizer(config, STEPS_PER_EPOCH)
    for optimizer in (g_optimizer, d_optimizer):
        optimizer.build([keras.Variable(np.ones(1, "float32"))])
        optimizer.iterations.assign(30)

    assert g_optimizer.learning_rate is not d_optimizer.learning_rate
    assert (float(g_optimizer.learning_rate), float(d_optimizer.learning_rate)) == pytest.approx((2e-3, 0.5e-3))


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fused_adam_matches_keras_adam_over_steps(jit_compile):
    """FusedAdam's one-kernel update gives Keras Adam's weights, with and without XLA."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=(40, 6)).astype("float32")
    gradients = [rng.normal(size=start.shape).astype("float32") for _ in range(5)]
    weights = {}

    def trained(optimizer) -> np.ndarray:
        variable = keras.Variable(start.copy())
        step = tf.function(lambda gradient: optimizer.apply([gradient], [variable]), jit_compile=jit_compile)
        for gradient in gradients:
            step(tf.constant(gradient))
        return variable.numpy()

    for optimizer in (keras.optimizers.Adam(0.01, beta_1=0.5), FusedAdam(0.01, beta_1=0.5)):
        weights[type(optimizer).__name__] = trained(optimizer)
    assert not np.allclose(weights["Adam"], start)
    np.testing.assert_allclose(weights["FusedAdam"], weights["Adam"], rtol=1e-5, atol=1e-6)
