"""training.gan_losses: both adversarial losses of both players against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from training import gan_losses

RTOL = 1e-5


def np_bce_from_logits(label: float, logits):
    """-label log σ(z) - (1 - label) log(1 - σ(z)) = label softplus(-z) + (1 - label) softplus(z)."""
    logits = np.asarray(logits, np.float64)
    return label * np.logaddexp(0.0, -logits) + (1.0 - label) * np.logaddexp(0.0, logits)


@pytest.fixture
def logits():
    rng = np.random.default_rng(3)
    return (2.0 * rng.normal(size=(8, 1))).astype(np.float32), (2.0 * rng.normal(size=(8, 1))).astype(np.float32)


def test_sigmoid_cross_entropy_is_element_wise(logits):
    labels = np.random.default_rng(4).integers(0, 2, logits[0].shape).astype(np.float32)
    expected = labels * np_bce_from_logits(1.0, logits[0]) + (1 - labels) * np_bce_from_logits(0.0, logits[0])
    np.testing.assert_allclose(gan_losses.sigmoid_cross_entropy(labels, logits[0]), expected, rtol=RTOL)


@pytest.mark.parametrize("gan_loss", gan_losses.GAN_LOSSES)
def test_discriminator_and_generator_losses(logits, gan_loss):
    real, fake = logits
    if gan_loss == "bce":
        d_expected = np_bce_from_logits(1.0, real).mean() + np_bce_from_logits(0.0, fake).mean()
        g_expected = np_bce_from_logits(1.0, fake).mean()
    else:
        d_expected = np.mean((real - 1.0) ** 2) + np.mean(fake**2)
        g_expected = np.mean((fake - 1.0) ** 2)
    np.testing.assert_allclose(gan_losses.discriminator_loss(real, fake, gan_loss), d_expected, rtol=RTOL)
    np.testing.assert_allclose(gan_losses.generator_adversarial_loss(fake, gan_loss), g_expected, rtol=RTOL)


def test_an_unknown_loss_is_rejected(logits):
    with pytest.raises(ValueError, match="gan_loss must be one of"):
        gan_losses.generator_adversarial_loss(logits[1], "wgan")
