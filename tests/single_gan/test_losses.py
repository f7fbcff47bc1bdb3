"""single_gan.losses against NumPy references written straight from the equations."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from single_gan import losses

RTOL = 1e-5


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_log_sigmoid(x):
    return -np_softplus(-np.asarray(x, np.float64))


@pytest.fixture
def logits():
    rng = np.random.default_rng(2014)
    return (3.0 * rng.normal(size=(6, 1))).astype(np.float32), (3.0 * rng.normal(size=(5, 1))).astype(np.float32)


def test_discriminator_loss_is_minus_the_value_function(logits):
    real, fake = logits
    # L_D = -(E log σ(D(x)) + E log(1 - σ(D(G(z))))), and 1 - σ(z) = σ(-z).
    expected = -(np.mean(np_log_sigmoid(real)) + np.mean(np_log_sigmoid(-fake)))
    np.testing.assert_allclose(losses.discriminator_loss(real, fake), expected, rtol=RTOL)


def test_generator_loss_is_the_non_saturating_one(logits):
    _, fake = logits
    np.testing.assert_allclose(losses.generator_loss(fake), -np.mean(np_log_sigmoid(fake)), rtol=RTOL)


def test_mean_probability_real_is_the_mean_sigmoid(logits):
    real, _ = logits
    np.testing.assert_allclose(losses.mean_probability_real(real), np.mean(1 / (1 + np.exp(-real))), rtol=RTOL)


def test_losses_are_float32_for_float16_logits(logits):
    real, fake = (part.astype(np.float16) for part in logits)
    for value in (
        losses.discriminator_loss(real, fake),
        losses.generator_loss(fake),
        losses.mean_probability_real(real),
    ):
        assert keras.backend.standardize_dtype(value.dtype) == "float32"


def test_at_the_equilibrium_the_discriminator_loss_is_2_log_2():
    """D(x) = 1/2 everywhere (logit 0): Goodfellow et al.'s optimum, V = -log 4."""
    zeros = np.zeros((4, 1), np.float32)
    np.testing.assert_allclose(losses.discriminator_loss(zeros, zeros), 2 * np.log(2), rtol=RTOL)
    np.testing.assert_allclose(losses.generator_loss(zeros), np.log(2), rtol=RTOL)
