"""CycleGAN's objective against NumPy, its training step, the ablations' switched-off terms, its pools."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cyclegan.model import TRACKERS, CycleGAN
from training import schedules

SIZE = 32


def _model(**kwargs) -> CycleGAN:
    model = CycleGAN(image_size=SIZE, residual_blocks=1, **kwargs)
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    return model


def _batch(seed: int = 0, batch: int = 2):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1, 1, (batch, SIZE, SIZE, 3)).astype("float32") for _ in range(2))


def _np(tensor) -> np.ndarray:
    return keras.ops.convert_to_numpy(tensor).astype("float64")


@pytest.mark.parametrize("gan_loss", ["lsgan", "bce"])
def test_generator_terms_are_the_references_weighted_losses(gan_loss):
    model = _model(gan_loss=gan_loss, cycle_weight_a=10, cycle_weight_b=7, identity_weight_a=3.5, identity_weight_b=5)
    a, b = _batch()
    terms, fakes = model.generator_losses(a, b)
    g_a, g_b, d_a, d_b = (model.generators["G_A"], model.generators["G_B"], *model.discriminators.values())
    fake_b, fake_a = _np(g_a(a)), _np(g_b(b))

    def adversarial(logits):
        logits = _np(logits)
        if gan_loss == "lsgan":
            return np.mean((logits - 1) ** 2)
        return np.mean(np.log1p(np.exp(-logits)))

    np.testing.assert_allclose(_np(fakes["fake_B"]), fake_b, atol=1e-6)
    np.testing.assert_allclose(_np(terms["G_A"]), adversarial(d_a(fake_b.astype("float32"))), rtol=1e-5)
    np.testing.assert_allclose(_np(terms["G_B"]), adversarial(d_b(fake_a.astype("float32"))), rtol=1e-5)
    np.testing.assert_allclose(_np(terms["cycle_A"]), 10 * np.mean(np.abs(_np(g_b(fake_b)) - a)), rtol=1e-5)
    np.testing.assert_allclose(_np(terms["cycle_B"]), 7 * np.mean(np.abs(_np(g_a(fake_a)) - b)), rtol=1e-5)
    np.testing.assert_allclose(_np(terms["idt_A"]), 3.5 * np.mean(np.abs(_np(g_a(b)) - b)), rtol=1e-5)
    np.testing.assert_allclose(_np(terms["idt_B"]), 5 * np.mean(np.abs(_np(g_b(a)) - a)), rtol=1e-5)


def test_discriminator_terms_are_half_the_lsgan_loss_on_real_and_translated_images():
    model = _model()
    a, b = _batch()
    fake_a, fake_b = model.generators["G_B"](b), model.generators["G_A"](a)
    terms = model.discriminator_losses(a, b, fake_a, fake_b)
    d_a, d_b = model.discriminators["D_A"], model.discriminators["D_B"]
    expected_a = 0.5 * (np.mean((_np(d_a(b)) - 1) ** 2) + np.mean(_np(d_a(fake_b)) ** 2))
    expected_b = 0.5 * (np.mean((_np(d_b(a)) - 1) ** 2) + np.mean(_np(d_b(fake_a)) ** 2))
    np.testing.assert_allclose(_np(terms["D_A"]), expected_a, rtol=1e-5)
    np.testing.assert_allclose(_np(terms["D_B"]), expected_b, rtol=1e-5)


def test_a_step_changes_every_trainable_variable_and_reports_every_tracker():
    model = _model()
    data = _batch()
    model(data[0])
    before = [variable.numpy().copy() for variable in model.trainable_variables]
    logs = model.train_step(data)
    assert sorted(logs) == sorted(TRACKERS)
    assert all(np.isfinite(float(value)) for value in logs.values())
    unchanged = [v.path for v, old in zip(model.trainable_variables, before) if np.array_equal(v.numpy(), old)]
    assert unchanged == []


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_a_mixed_precision_step_trains_float32_weights_and_pools_translations_in_float32(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = _model()
        data = _batch()
        model(data[0])
        before = [variable.numpy().copy() for variable in model.trainable_variables]
        logs = model.train_step(data)
    finally:
        keras.config.set_dtype_policy(previous)
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert {variable.dtype for variable in model.trainable_variables} == {"float32"}
    unchanged = [v.path for v, old in zip(model.trainable_variables, before) if np.array_equal(v.numpy(), old)]
    assert unchanged == []
    assert [pool.images.dtype for pool in model.fake_pools.values()] == ["float32", "float32"]
    stored = model.fake_pools["G_A"].images.numpy()[:2]
    assert np.all(np.abs(stored) <= 1) and np.all(np.std(stored, axis=(1, 2, 3)) > 0)  # tanh outputs, not zeros


def test_each_step_stores_its_translations_in_the_pools():
    model = _model(pool_size=3)
    data = _batch(batch=2)
    model(data[0])
    model.train_step(data)
    assert [int(pool.stored.numpy()) for pool in model.fake_pools.values()] == [2, 2]
    model.train_step(data)
    assert [int(pool.stored.numpy()) for pool in model.fake_pools.values()] == [3, 3]


@pytest.mark.parametrize("switched_off", ["cycle_A", "cycle_B", "idt_A", "idt_B"])
def test_a_term_with_weight_zero_is_not_computed_reads_zero_and_has_no_gradient(switched_off):
    weights = {"cycle_A": "cycle_weight_a", "cycle_B": "cycle_weight_b", "idt_A": "identity_weight_a"}
    weights["idt_B"] = "identity_weight_b"
    model = _model(**{weights[switched_off]: 0.0})
    a, b = _batch()
    model(a)
    with tf.GradientTape(persistent=True) as tape:
        terms, _ = model.generator_losses(a, b, training=True)
    assert float(terms[switched_off]) == 0.0
    assert all(gradient is None for gradient in tape.gradient(terms[switched_off], model.generator_variables))
    others = [name for name in ("cycle_A", "cycle_B", "idt_A", "idt_B") if name != switched_off]
    assert all(float(terms[name]) > 0 for name in others)
    logs = model.fit(tf.data.Dataset.from_tensors((a, b)).repeat(), steps_per_epoch=2, epochs=1, verbose=0)
    assert logs.history[switched_off] == [0.0]


def test_the_cycle_loss_falls_on_a_fixed_batch():
    model = _model()
    data = _batch(batch=1)
    model(data[0])
    first = float(model.generator_losses(*data)[0]["cycle_A"])
    model.fit(tf.data.Dataset.from_tensors(data).repeat(), steps_per_epoch=30, epochs=1, verbose=0)
    assert float(model.generator_losses(*data)[0]["cycle_A"]) < 0.7 * first


def test_a_model_rebuilt_from_its_config_and_weights_translates_identically(tmp_path):
    model = _model(cycle_weight_b=3.0, gan_loss="bce", pool_size=7)
    data = _batch()
    model(data[0])
    model.save_weights(tmp_path / "cyclegan.weights.h5")
    clone = CycleGAN.from_config(model.get_config())
    clone(data[0])
    clone.load_weights(tmp_path / "cyclegan.weights.h5")
    assert clone.get_config() == model.get_config()
    for direction in ("a2b", "b2a"):
        np.testing.assert_array_equal(
            _np(clone.translate(data[0], direction)), _np(model.translate(data[0], direction))
        )


def test_sample_grid_shows_real_translated_reconstructed_and_identity_images_of_both_domains():
    model = _model()
    rows = model.sample_grid(*_batch(batch=3))
    assert [name for name, _ in rows] == ["a", "a2b", "a2b2a", "G_B(a)", "b", "b2a", "b2a2b", "G_A(b)"]
    assert all(images.shape == (3, SIZE, SIZE, 3) and images.dtype == np.float32 for _, images in rows)


def test_linear_decay_of_the_reference_schedule():
    schedule = schedules.LinearDecayAfter(2e-4, decay_start_step=100, decay_end_step=200)
    assert [float(schedule(step)) for step in (0, 100, 150, 200)] == pytest.approx([2e-4, 2e-4, 1e-4, 0.0])


def test_the_widths_are_the_references_ngf_and_ndf_and_survive_the_config():
    model = CycleGAN(image_size=SIZE, residual_blocks=1, generator_filters=8, discriminator_filters=4)
    clone = CycleGAN.from_config(model.get_config())
    for network in (model, clone):
        generator, discriminator = network.generators["G_A"], network.discriminators["D_A"]
        assert [generator.get_layer(f"G_A_{stage}_conv").filters for stage in ("stem", "down1", "down2")] == [8, 16, 32]
        assert [discriminator.get_layer(f"D_A_conv{index}").filters for index in (1, 2, 3, 4)] == [4, 8, 16, 32]
