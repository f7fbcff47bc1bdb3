"""cyclegan.losses against NumPy references written straight from the equations."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cyclegan import losses

RTOL = 1e-5


@pytest.fixture
def rng():
    return np.random.default_rng(1703_10593)


def images(rng, n=2, size=16):
    return rng.uniform(-1.0, 1.0, (n, size, size, 3)).astype(np.float32)


def patch_logits(rng, n=2, size=6):
    return (2.0 * rng.normal(size=(n, size, size, 1))).astype(np.float32)


def np_mean_absolute_error(a, b):
    return np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64)))


def np_softplus(x):
    return np.logaddexp(0.0, x.astype(np.float64))


def np_discriminator_loss(real_logits, fake_logits, gan_loss):
    """BCE: E -log σ(D(y)) + E -log(1 - σ(D(G(x)))); LSGAN: E (D(y) - 1)^2 + E D(G(x))^2."""
    real, fake = real_logits.astype(np.float64), fake_logits.astype(np.float64)
    if gan_loss == "bce":
        return np.mean(np_softplus(-real)) + np.mean(np_softplus(fake))
    return np.mean((real - 1.0) ** 2) + np.mean(fake**2)


@pytest.mark.parametrize("loss", [losses.cycle_consistency_loss, losses.identity_loss])
def test_l1_losses_are_the_mean_absolute_error(rng, loss):
    real, other = images(rng), images(rng)
    np.testing.assert_allclose(loss(real, other), np_mean_absolute_error(real, other), rtol=RTOL)


@pytest.mark.parametrize("loss", [losses.cycle_consistency_loss, losses.identity_loss])
def test_l1_losses_are_zero_for_identical_images(rng, loss):
    real = images(rng)
    assert float(loss(real, real.copy())) == 0.0


@pytest.mark.parametrize("gan_loss", losses.GAN_LOSSES)
def test_halved_discriminator_loss_is_half_the_sum_of_real_and_fake_terms(rng, gan_loss):
    real_logits, fake_logits = patch_logits(rng), patch_logits(rng)
    expected = 0.5 * np_discriminator_loss(real_logits, fake_logits, gan_loss)
    np.testing.assert_allclose(
        losses.halved_discriminator_loss(real_logits, fake_logits, gan_loss), expected, rtol=RTOL
    )


def test_halved_discriminator_loss_defaults_to_lsgan(rng):
    real_logits, fake_logits = patch_logits(rng), patch_logits(rng)
    np.testing.assert_allclose(
        losses.halved_discriminator_loss(real_logits, fake_logits),
        0.5 * np_discriminator_loss(real_logits, fake_logits, "lsgan"),
        rtol=RTOL,
    )


def test_halved_lsgan_discriminator_loss_is_zero_for_a_perfect_discriminator():
    assert float(losses.halved_discriminator_loss(np.ones((2, 6, 6, 1)), np.zeros((2, 6, 6, 1)), "lsgan")) == 0.0


def test_unknown_gan_loss_is_rejected(rng):
    with pytest.raises(ValueError, match="gan_loss must be one of"):
        losses.halved_discriminator_loss(patch_logits(rng), patch_logits(rng), "wgan")


@pytest.mark.parametrize(
    "compute",
    [
        lambda a, b, c, d: losses.cycle_consistency_loss(a, b),
        lambda a, b, c, d: losses.identity_loss(a, b),
        lambda a, b, c, d: losses.halved_discriminator_loss(c, d, "lsgan"),
        lambda a, b, c, d: losses.halved_discriminator_loss(c, d, "bce"),
    ],
    ids=["cycle", "identity", "halved_d_lsgan", "halved_d_bce"],
)
def test_float16_inputs_give_float32_losses(rng, compute):
    a, b, c, d = (
        array.astype(np.float16) for array in (images(rng), images(rng), patch_logits(rng), patch_logits(rng))
    )
    loss = compute(a, b, c, d)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert tuple(loss.shape) == ()


def test_float16_images_are_averaged_in_float32(rng):
    """Differences and mean in float16 would be off by ~4e-4 relative here; in float32 they match float64 to 1e-5."""
    real, reconstructed = images(rng, size=64).astype(np.float16), images(rng, size=64).astype(np.float16)
    np.testing.assert_allclose(
        losses.cycle_consistency_loss(real, reconstructed), np_mean_absolute_error(real, reconstructed), rtol=RTOL
    )
