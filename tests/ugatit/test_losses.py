"""ugatit.losses against NumPy references written from the reference's losses (UGATIT-pytorch, UGATIT.py).

The reference: MSE_loss (LSGAN) on every discriminator's patch and CAM logits, L1_loss for the cycle and
identity terms, BCEWithLogitsLoss for the generator's CAM; each the mean over all elements.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ugatit import losses

RTOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(1907_10830)


def images(rng, n=2, size=16):
    return rng.uniform(-1.0, 1.0, (n, size, size, 3)).astype(np.float32)


def discriminator_outputs(rng, n=2, patches=6):
    """(patch logits, CAM logits [B, 2], heatmap), as a U-GAT-IT discriminator returns them."""
    return (
        (1.5 * rng.normal(size=(n, patches, patches, 1))).astype(np.float32),
        (1.5 * rng.normal(size=(n, 2))).astype(np.float32),
        rng.normal(size=(n, patches + 1, patches + 1, 1)).astype(np.float32),
    )


def cam_logits(rng, n=4, scale=3.0):
    return (scale * rng.normal(size=(n, 2))).astype(np.float32)


def f64(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def np_mse(logits, label):
    return np.mean((f64(logits) - label) ** 2)


def np_bce_with_logits(logits, label):
    """BCEWithLogitsLoss, stably: ℓ(1, z) = log(1 + e^-z), ℓ(0, z) = log(1 + e^z), averaged."""
    z = f64(logits)
    return np.mean(np.logaddexp(0.0, -z) if label == 1 else np.logaddexp(0.0, z))


def as_float32(loss) -> float:
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert tuple(loss.shape) == ()
    return float(keras.ops.convert_to_numpy(loss))


# --- L_lsgan ---


def test_adversarial_generator_loss_is_lsgan_on_patch_and_cam_logits(rng):
    patch, cam, _ = discriminator_outputs(rng)
    expected = np_mse(patch, 1.0) + np_mse(cam, 1.0)
    np.testing.assert_allclose(as_float32(losses.adversarial_generator_loss((patch, cam))), expected, rtol=RTOL)


def test_adversarial_generator_loss_ignores_the_heatmap(rng):
    outputs = discriminator_outputs(rng)
    with_heatmap = losses.adversarial_generator_loss(outputs)
    without = losses.adversarial_generator_loss(outputs[:2])
    assert float(with_heatmap) == float(without)


def test_adversarial_generator_loss_is_zero_when_every_logit_says_real():
    assert float(losses.adversarial_generator_loss((np.ones((2, 6, 6, 1)), np.ones((2, 2))))) == 0.0


def test_adversarial_discriminator_loss_is_lsgan_real_and_fake_on_both_outputs(rng):
    real, fake = discriminator_outputs(rng), discriminator_outputs(rng)
    expected = np_mse(real[0], 1.0) + np_mse(fake[0], 0.0) + np_mse(real[1], 1.0) + np_mse(fake[1], 0.0)
    np.testing.assert_allclose(as_float32(losses.adversarial_discriminator_loss(real, fake)), expected, rtol=RTOL)


def test_adversarial_discriminator_loss_terms_are_averaged_separately(rng):
    """Patch maps (36 logits an image) and CAM logits (2) weigh the same: means, not one mean over all."""
    real, fake = discriminator_outputs(rng), discriminator_outputs(rng)
    patch_only = losses.adversarial_discriminator_loss((real[0], np.ones((2, 2))), (fake[0], np.zeros((2, 2))))
    cam_only = losses.adversarial_discriminator_loss(
        (np.ones((2, 6, 6, 1)), real[1]), (np.zeros((2, 6, 6, 1)), fake[1])
    )
    np.testing.assert_allclose(as_float32(patch_only), np_mse(real[0], 1.0) + np_mse(fake[0], 0.0), rtol=RTOL)
    np.testing.assert_allclose(as_float32(cam_only), np_mse(real[1], 1.0) + np_mse(fake[1], 0.0), rtol=RTOL)


def test_adversarial_discriminator_loss_is_zero_for_a_perfect_discriminator():
    real = (np.ones((2, 6, 6, 1)), np.ones((2, 2)))
    fake = (np.zeros((2, 6, 6, 1)), np.zeros((2, 2)))
    assert float(losses.adversarial_discriminator_loss(real, fake)) == 0.0


def test_adversarial_discriminator_loss_is_not_symmetric(rng):
    real, fake = discriminator_outputs(rng), discriminator_outputs(rng)
    assert float(losses.adversarial_discriminator_loss(real, fake)) != pytest.approx(
        float(losses.adversarial_discriminator_loss(fake, real)), rel=1e-3
    )


# --- L_cycle, L_identity ---


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss], ids=["cycle", "identity"])
def test_l1_losses_are_the_mean_absolute_error(rng, loss):
    real, other = images(rng), images(rng)
    np.testing.assert_allclose(as_float32(loss(real, other)), np.mean(np.abs(f64(real) - f64(other))), rtol=RTOL)


@pytest.mark.parametrize("loss", [losses.cycle_loss, losses.identity_loss], ids=["cycle", "identity"])
def test_l1_losses_are_zero_for_identical_images(rng, loss):
    real = images(rng)
    assert float(loss(real, real.copy())) == 0.0


# --- L_cam ---


def test_generator_cam_loss_is_bce_source_to_1_plus_target_to_0(rng):
    source, target = cam_logits(rng), cam_logits(rng, n=3)
    expected = np_bce_with_logits(source, 1) + np_bce_with_logits(target, 0)
    np.testing.assert_allclose(as_float32(losses.generator_cam_loss(source, target)), expected, rtol=RTOL)


def test_generator_cam_loss_is_not_symmetric(rng):
    source, target = cam_logits(rng), cam_logits(rng)
    expected_swapped = np_bce_with_logits(target, 1) + np_bce_with_logits(source, 0)
    swapped = as_float32(losses.generator_cam_loss(target, source))
    np.testing.assert_allclose(swapped, expected_swapped, rtol=RTOL)
    assert swapped != pytest.approx(as_float32(losses.generator_cam_loss(source, target)), rel=1e-3)


def test_generator_cam_loss_is_stable_for_large_logits():
    """log σ(z) straight from σ would be log(0) = -inf at z = -100; the stable form gives 100."""
    source = np.array([[-100.0, 50.0]], np.float32)  # ℓ(1, ·): 100, ~0
    target = np.array([[100.0, -50.0]], np.float32)  # ℓ(0, ·): 100, ~0
    loss = as_float32(losses.generator_cam_loss(source, target))
    np.testing.assert_allclose(loss, np_bce_with_logits(source, 1) + np_bce_with_logits(target, 0), rtol=RTOL)
    np.testing.assert_allclose(loss, 100.0, rtol=RTOL)


def test_generator_cam_loss_at_zero_logits_is_2_log_2():
    zeros = np.zeros((2, 2), np.float32)
    np.testing.assert_allclose(as_float32(losses.generator_cam_loss(zeros, zeros)), 2 * np.log(2.0), rtol=RTOL)


# --- mixed precision ---


@pytest.mark.parametrize(
    "compute",
    [
        lambda outputs, other, a, b: losses.adversarial_generator_loss(outputs),
        lambda outputs, other, a, b: losses.adversarial_discriminator_loss(outputs, other),
        lambda outputs, other, a, b: losses.cycle_loss(a, b),
        lambda outputs, other, a, b: losses.identity_loss(a, b),
        lambda outputs, other, a, b: losses.generator_cam_loss(outputs[1], other[1]),
    ],
    ids=["adversarial_generator", "adversarial_discriminator", "cycle", "identity", "generator_cam"],
)
def test_bfloat16_inputs_give_float32_losses_of_their_values(rng, compute):
    outputs, other, a, b = discriminator_outputs(rng), discriminator_outputs(rng), images(rng), images(rng)

    def bfloat16(array):
        return keras.ops.cast(array, "bfloat16")

    loss = compute(tuple(map(bfloat16, outputs)), tuple(map(bfloat16, other)), bfloat16(a), bfloat16(b))

    # The float32 loss of the bfloat16-rounded inputs: nothing is reduced in bfloat16.
    def rounded(array):
        return keras.ops.convert_to_numpy(keras.ops.cast(bfloat16(array), "float32"))

    expected = compute(tuple(map(rounded, outputs)), tuple(map(rounded, other)), rounded(a), rounded(b))
    np.testing.assert_allclose(as_float32(loss), as_float32(expected), rtol=RTOL)
