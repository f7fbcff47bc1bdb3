"""xgan.losses against NumPy references written straight from the equations."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from xgan import losses

RTOL = 1e-5


@pytest.fixture
def rng():
    return np.random.default_rng(1711_05139)


def np_softplus(x):
    return np.logaddexp(0.0, x)


def np_bce_from_logits(label: float, logits):
    """-label log σ(z) - (1 - label) log(1 - σ(z)) = label softplus(-z) + (1 - label) softplus(z)."""
    return label * np_softplus(-logits) + (1.0 - label) * np_softplus(logits)


def np_distance(a, b, distance):
    a, b = a.astype(np.float64).reshape(len(a), -1), b.astype(np.float64).reshape(len(b), -1)
    if distance == "l1":
        return np.abs(a - b).mean(axis=1)
    if distance == "l2":
        return ((a - b) ** 2).mean(axis=1)
    cosine = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return 1.0 - cosine


def images(rng, n=3):
    return rng.uniform(-1.0, 1.0, (n, 64, 64, 3)).astype(np.float32)


def embeddings(rng, n=5):
    return rng.normal(size=(n, 1024)).astype(np.float32)


def logits(rng, n=6):
    return (3.0 * rng.normal(size=(n, 1))).astype(np.float32)


def test_reconstruction_loss_is_the_mean_squared_error(rng):
    x, reconstruction = images(rng), images(rng)
    expected = np.mean((x.astype(np.float64) - reconstruction) ** 2)
    np.testing.assert_allclose(losses.reconstruction_loss(x, reconstruction), expected, rtol=RTOL)


def test_l1_reconstruction_loss_is_the_mean_absolute_error(rng):
    x, reconstruction = images(rng), images(rng)
    expected = np.mean(np.abs(x.astype(np.float64) - reconstruction))
    np.testing.assert_allclose(losses.reconstruction_loss(x, reconstruction, "l1"), expected, rtol=RTOL)


@pytest.mark.parametrize("distance", losses.RECONSTRUCTION_DISTANCES)
def test_reconstruction_loss_is_zero_for_a_perfect_reconstruction(rng, distance):
    x = images(rng)
    assert float(losses.reconstruction_loss(x, x, distance)) == 0.0


def test_an_unknown_reconstruction_distance_is_rejected(rng):
    with pytest.raises(ValueError, match="distance"):
        losses.reconstruction_loss(images(rng), images(rng), "l3")


def test_domain_adversarial_loss_labels_faces_0_and_cartoons_1(rng):
    face_logits, cartoon_logits = logits(rng), logits(rng, n=4)
    expected = (
        np_bce_from_logits(0.0, face_logits.astype(np.float64)).mean()
        + np_bce_from_logits(1.0, cartoon_logits.astype(np.float64)).mean()
    )
    np.testing.assert_allclose(losses.domain_adversarial_loss(face_logits, cartoon_logits), expected, rtol=RTOL)


def test_domain_confusion_loss_is_the_cross_entropy_to_one_half(rng):
    face_logits, cartoon_logits = logits(rng), logits(rng, n=4)
    expected = sum(np_bce_from_logits(0.5, x.astype(np.float64)).mean() for x in (face_logits, cartoon_logits))
    np.testing.assert_allclose(losses.domain_confusion_loss(face_logits, cartoon_logits), expected, rtol=RTOL)


def test_domain_confusion_loss_is_least_where_c_dann_cannot_tell_and_grows_both_ways():
    undecided = np.zeros((4, 1), np.float32)
    confident = np.full((4, 1), 5.0, np.float32)
    assert float(losses.domain_confusion_loss(undecided, undecided)) == pytest.approx(2 * np.log(2.0), rel=1e-6)
    right = float(losses.domain_confusion_loss(-confident, confident))
    wrong = float(losses.domain_confusion_loss(confident, -confident))
    assert right == pytest.approx(wrong) and right > 2 * np.log(2.0) + 1.0  # no reward for confident mistakes


def test_domain_adversarial_loss_is_small_for_a_classifier_that_is_right(rng):
    confident = np.full((4, 1), 20.0, np.float32)
    assert float(losses.domain_adversarial_loss(-confident, confident)) < 1e-6
    assert float(losses.domain_adversarial_loss(confident, -confident)) > 39.0


@pytest.mark.parametrize("distance", losses.SEMANTIC_DISTANCES)
def test_semantic_consistency_loss_matches_numpy(rng, distance):
    source, translated = embeddings(rng), embeddings(rng)
    expected = np_distance(source, translated, distance).mean()
    np.testing.assert_allclose(losses.semantic_consistency_loss(source, translated, distance), expected, rtol=RTOL)


@pytest.mark.parametrize("distance", losses.SEMANTIC_DISTANCES)
def test_semantic_consistency_loss_is_zero_for_identical_embeddings(rng, distance):
    e = embeddings(rng)
    np.testing.assert_allclose(losses.semantic_consistency_loss(e, e, distance), 0.0, atol=1e-6)


def test_cosine_distance_ignores_the_embeddings_scale(rng):
    a, b = embeddings(rng), embeddings(rng)
    np.testing.assert_allclose(
        losses.semantic_consistency_loss(a, 7.0 * b, "cosine"),
        losses.semantic_consistency_loss(a, b, "cosine"),
        rtol=RTOL,
    )


@pytest.mark.parametrize("distance", losses.SEMANTIC_DISTANCES)
def test_teacher_loss_matches_numpy(rng, distance):
    student, teacher = embeddings(rng), embeddings(rng)
    expected = np_distance(teacher, student, distance).mean()
    np.testing.assert_allclose(losses.teacher_loss(student, teacher, distance), expected, rtol=RTOL)


def test_generator_adversarial_loss_bce_is_non_saturating(rng):
    fake = logits(rng)
    expected = np_bce_from_logits(1.0, fake.astype(np.float64)).mean()
    np.testing.assert_allclose(losses.generator_adversarial_loss(fake, "bce"), expected, rtol=RTOL)


def test_generator_adversarial_loss_lsgan(rng):
    fake = logits(rng)
    expected = ((fake.astype(np.float64) - 1.0) ** 2).mean()
    np.testing.assert_allclose(losses.generator_adversarial_loss(fake, "lsgan"), expected, rtol=RTOL)


def test_discriminator_loss_bce(rng):
    real, fake = logits(rng), logits(rng, n=4)
    expected = (
        np_bce_from_logits(1.0, real.astype(np.float64)).mean()
        + np_bce_from_logits(0.0, fake.astype(np.float64)).mean()
    )
    np.testing.assert_allclose(losses.discriminator_loss(real, fake, "bce"), expected, rtol=RTOL)


def test_discriminator_loss_lsgan(rng):
    real, fake = logits(rng), logits(rng, n=4)
    expected = ((real.astype(np.float64) - 1.0) ** 2).mean() + (fake.astype(np.float64) ** 2).mean()
    np.testing.assert_allclose(losses.discriminator_loss(real, fake, "lsgan"), expected, rtol=RTOL)


def test_half_precision_inputs_give_float32_losses(rng):
    """Under mixed_float16 embeddings arrive as float16; the loss is still computed in float32."""
    a, b = embeddings(rng), embeddings(rng)
    loss = losses.semantic_consistency_loss(a.astype(np.float16), b.astype(np.float16), "l2")
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    expected = np_distance(a.astype(np.float16), b.astype(np.float16), "l2").mean()
    np.testing.assert_allclose(loss, expected, rtol=RTOL)


@pytest.mark.parametrize(
    "call",
    [
        lambda: losses.semantic_consistency_loss(np.zeros((1, 4)), np.zeros((1, 4)), "l3"),
        lambda: losses.generator_adversarial_loss(np.zeros((1, 1)), "wgan"),
        lambda: losses.discriminator_loss(np.zeros((1, 1)), np.zeros((1, 1)), "hinge"),
    ],
)
def test_unknown_options_are_rejected(call):
    with pytest.raises(ValueError, match="must be one of"):
        call()
