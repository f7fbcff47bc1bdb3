"""StarGAN v2's losses against NumPy, R1 against finite differences, the λ_ds schedule against the official loop."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from stargan_v2 import losses

RNG = np.random.default_rng(0)


def numpy_softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


@pytest.mark.parametrize("target", [0, 1])
def test_adversarial_loss_is_the_mean_binary_cross_entropy_of_the_logits(target):
    logits = RNG.normal(0, 3, 8).astype("float32")

    # -log σ(z) = softplus(-z) for target 1; -log(1 - σ(z)) = softplus(z) for target 0.
    expected = np.mean(numpy_softplus(-logits if target else logits))

    np.testing.assert_allclose(float(losses.adversarial_loss(logits, target)), expected, rtol=1e-6)


def test_adversarial_loss_accepts_only_the_labels_0_and_1():
    with pytest.raises(ValueError, match="target must be 0 or 1"):
        losses.adversarial_loss(np.zeros(2, "float32"), 0.5)


def test_r1_penalty_is_half_the_batch_mean_of_each_images_squared_gradient_sum():
    grads = RNG.normal(size=(3, 4, 4, 3)).astype("float32")

    expected = 0.5 * np.mean(np.sum(grads.reshape(3, -1) ** 2, axis=1))

    np.testing.assert_allclose(float(losses.r1_penalty(grads)), expected, rtol=1e-6)


def tiny_discriminator() -> keras.Model:
    """A float64 discriminator of 3x3x2 images: one logit per image, a nonlinear function of its pixels."""
    images = keras.Input((3, 3, 2), dtype="float64")
    hidden = keras.layers.Dense(5, activation="tanh", dtype="float64")(keras.layers.Flatten(dtype="float64")(images))
    logits = keras.layers.Dense(1, dtype="float64")(hidden)
    return keras.Model(images, keras.ops.squeeze(logits, -1))


def finite_difference_r1(discriminate, images: np.ndarray, step: float = 1e-6) -> float:
    """0.5 · mean_n Σ (∂D(x_n)/∂x_n)², each derivative by central differences."""
    gradients = np.zeros_like(images)
    for index in np.ndindex(images.shape):
        plus, minus = images.copy(), images.copy()
        plus[index] += step
        minus[index] -= step
        image = index[0]
        gradients[index] = (discriminate(plus)[image] - discriminate(minus)[image]) / (2 * step)
    return 0.5 * np.mean(np.sum(gradients.reshape(len(images), -1) ** 2, axis=1))


def test_r1_penalty_of_a_discriminator_matches_finite_differences_and_its_logits():
    discriminator = tiny_discriminator()
    images = RNG.normal(size=(2, 3, 3, 2))

    logits, penalty = losses.logits_and_r1_penalty(discriminator, tf.constant(images))

    def discriminate(x):
        return keras.ops.convert_to_numpy(discriminator(x))

    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), discriminate(images), rtol=1e-12)
    np.testing.assert_allclose(float(penalty), finite_difference_r1(discriminate, images), rtol=1e-7)


def test_r1_penalty_is_differentiable_in_the_discriminators_weights():
    # What D's step needs: the penalty's gradient in D's weights (a second derivative), here against the
    # finite difference of the penalty in one weight.
    discriminator = tiny_discriminator()
    images = tf.constant(RNG.normal(size=(2, 3, 3, 2)))
    kernel = discriminator.trainable_variables[0]

    with tf.GradientTape() as tape:
        _, penalty = losses.logits_and_r1_penalty(discriminator, images)
    analytic = tape.gradient(penalty, kernel).numpy()[0, 0]

    step, original = 1e-6, kernel.numpy()

    def penalty_with(offset):
        shifted = original.copy()
        shifted[0, 0] += offset
        kernel.assign(shifted)
        return float(losses.logits_and_r1_penalty(discriminator, images)[1])

    numeric = (penalty_with(step) - penalty_with(-step)) / (2 * step)
    kernel.assign(original)
    assert analytic != 0.0
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_style_reconstruction_and_cycle_losses_are_mean_absolute_errors():
    a, b = RNG.normal(size=(2, 4, 6)).astype("float32"), RNG.normal(size=(2, 4, 6)).astype("float32")
    expected = np.mean(np.abs(a - b))

    np.testing.assert_allclose(float(losses.style_reconstruction_loss(a, b)), expected, rtol=1e-6)
    np.testing.assert_allclose(float(losses.cycle_loss(a, b)), expected, rtol=1e-6)


def test_diversity_loss_is_the_mean_absolute_difference_differentiated_through_the_first_image_only():
    first = tf.Variable(RNG.normal(size=(2, 4, 4, 3)).astype("float32"))
    second = tf.Variable(RNG.normal(size=(2, 4, 4, 3)).astype("float32"))

    with tf.GradientTape() as tape:
        loss = losses.diversity_loss(first, second)
    first_gradient, second_gradient = tape.gradient(loss, [first, second])

    np.testing.assert_allclose(float(loss), np.mean(np.abs(first.numpy() - second.numpy())), rtol=1e-6)
    np.testing.assert_allclose(first_gradient.numpy(), np.sign(first.numpy() - second.numpy()) / first.numpy().size)
    assert second_gradient is None


def official_diversity_weights(initial: float, decay_steps: int, iterations: int) -> list[float]:
    """λ_ds as the official `Solver.train` uses it in each iteration: subtracted after every one while positive."""
    weight, used = initial, []
    for _ in range(iterations):
        used.append(weight)
        if weight > 0:
            weight -= initial / decay_steps
    return used


def test_diversity_weight_decays_linearly_to_zero_as_the_official_loop():
    expected = official_diversity_weights(2.0, 4, 7)

    got = [float(losses.diversity_weight(2.0, 4, step)) for step in range(7)]

    assert expected == [2.0, 1.5, 1.0, 0.5, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-7)
    assert float(losses.diversity_weight(1.0, 100_000, 25_000)) == pytest.approx(0.75)
