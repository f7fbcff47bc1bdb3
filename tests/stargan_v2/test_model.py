"""StarGAN v2's model at 32 px: the four steps and what each trains, the λ_ds schedule and its saved counter, the
moving average, the harness's four optimizers, save/load round trips, inference and grids."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stargan_v2 import losses
from stargan_v2.hyperparameters import StarGANv2Hyperparameters
from stargan_v2.model import TRACKERS, StarGANv2
from tests.training.conftest import toy_config
from training import ema, fit

SIZE = 32
SETTINGS = dict(image_size=SIZE, max_conv_dim=32)
BATCH = 2
BETA = 0.999


def make_batch(seed: int = 0) -> tuple:
    """(sources, source_domains, references, second_references, target_domains): two images per domain, each
    source translated to the other domain."""
    rng = np.random.default_rng(seed)
    images = [rng.uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype("float32") for _ in range(3)]
    return images[0], np.array([0, 1], "int32"), images[1], images[2], np.array([1, 0], "int32")


def latents(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((BATCH, 16), dtype=np.float32)


def compiled(learning_rate: float = 1e-4, ema_decay: float = 0.0, seed: int = 1, **hyperparameters) -> StarGANv2:
    """A 32 px model with the official Adam (β1 = 0, β2 = 0.99) as each of its four optimizers."""
    model = StarGANv2(**SETTINGS, **hyperparameters, seed=seed)
    model.compile(
        **{name: keras.optimizers.Adam(learning_rate, 0.0, 0.99, name=name) for name in model.optimizer_names},
        ema_decay=ema_decay,
    )
    return model


def networks(model: StarGANv2) -> dict:
    return {
        "G": model.generators["generator"],
        "F": model.mapping_network,
        "E": model.style_encoder,
        "D": model.discriminators["discriminator"],
    }


def values(variables) -> list:
    return [variable.numpy().copy() for variable in variables]


def tensors(*arrays) -> list:
    """The networks' inputs as tensors: Keras refuses a list mixing NumPy arrays and tensors."""
    return [keras.ops.convert_to_tensor(array) for array in arrays]


def run_step(model: StarGANv2, batch) -> dict:
    """One eager iteration; its logs (the trackers reset first, so each log is this iteration's value)."""
    for tracker in model.metrics:
        tracker.reset_state()
    return {name: float(value) for name, value in model.train_step(batch).items()}


# -- each step trains its own networks -----------------------------------------------------------------


@pytest.fixture(scope="module")
def stepping_model():
    return compiled(learning_rate=1e-3)


def step_arguments(step: str) -> tuple:
    sources, source_domains, references, second_references, target_domains = make_batch()
    images = (sources, source_domains, target_domains)
    return {
        "latent_discriminator_step": (*images, latents(1)),
        "reference_discriminator_step": (*images, references),
        "latent_generator_step": (*images, latents(1), latents(2), 1.0),
        "reference_generator_step": (*images, references, second_references, 1.0),
    }[step]


@pytest.mark.parametrize(
    "step, trained, optimizers",
    [
        ("latent_discriminator_step", {"D"}, {"d_optimizer"}),
        ("reference_discriminator_step", {"D"}, {"d_optimizer"}),
        ("latent_generator_step", {"G", "F", "E"}, {"g_optimizer", "mapping_optimizer", "style_optimizer"}),
        ("reference_generator_step", {"G"}, {"g_optimizer"}),
    ],
)
def test_each_step_changes_its_networks_and_nothing_else(stepping_model, step, trained, optimizers):
    model = stepping_model
    before = {name: values(network.weights) for name, network in networks(model).items()}
    iterations = {name: int(getattr(model, name).iterations) for name in model.optimizer_names}

    terms = getattr(model, step)(*step_arguments(step))

    prefix = "G" if "generator" in step else "D"
    assert all(name.startswith(prefix) and np.isfinite(float(value)) for name, value in terms.items())
    for name, network in networks(model).items():
        changed = [not np.array_equal(a, b) for a, b in zip(before[name], values(network.weights))]
        if name in trained:
            assert all(changed), f"{step}: {name} kept {changed.count(False)} of {len(changed)} weights"
        else:
            assert not any(changed), f"{step} changed {name}"
    for name in model.optimizer_names:
        assert int(getattr(model, name).iterations) == iterations[name] + (name in optimizers), name


def test_the_discriminators_loss_falls_on_a_fixed_batch():
    keras.utils.set_random_seed(0)  # at the official rate the loss falls by half or more from any of seeds 0-3
    model = compiled()
    sources, source_domains, _, _, target_domains = make_batch()

    def loss(terms):
        return sum(float(terms[f"D_latent_{term}"]) for term in ("real", "fake")) + float(terms["D_latent_reg"])

    history = [
        loss(model.latent_discriminator_step(sources, source_domains, target_domains, latents(1))) for _ in range(6)
    ]

    assert history[-1] < 0.7 * history[0], history


# -- whole iterations ----------------------------------------------------------------------------------

DECAY_STEPS, DIVERSITY_WEIGHT = 3, 1.5


@pytest.fixture(scope="module")
def trained():
    """A model with the moving average after two iterations: its logs and averaged weights after each."""
    model = compiled(ema_decay=BETA, diversity_weight=DIVERSITY_WEIGHT, diversity_decay_steps=DECAY_STEPS)
    weights = [values(model.generator_average.weights)]
    logs = []
    for seed in (0, 1):
        logs.append(run_step(model, make_batch(seed)))
        weights.append(values(model.generator_average.weights))
    return model, logs, weights


def test_an_iteration_runs_the_four_steps_and_logs_every_official_entry(trained):
    model, logs, _ = trained

    assert set(logs[0]) == set(TRACKERS)
    assert all(np.isfinite(value) for log in logs for value in log.values())
    # Per iteration: D twice (latent, reference), G twice, F and E once (the latent G step).
    steps = {name: int(getattr(model, name).iterations) for name in model.optimizer_names}
    assert steps == {"g_optimizer": 4, "d_optimizer": 4, "mapping_optimizer": 2, "style_optimizer": 2}
    assert int(model.completed_iterations) == 2


def test_lambda_ds_decays_by_lambda_over_ds_iter_every_iteration(trained):
    _, logs, _ = trained

    assert [log["lambda_ds"] for log in logs] == pytest.approx([1.5, 1.0])


def test_the_average_of_g_f_and_e_moves_with_beta_and_d_has_none(trained):
    model, _, weights = trained
    averaged = {id(weight) for weight in model.generator_average.weights}
    exported = [model.generators["generator"], model.mapping_network, model.style_encoder]

    assert averaged == {id(weight) for network in exported for weight in network.weights}
    assert not averaged & {id(weight) for weight in model.discriminators["discriminator"].weights}
    expected = weights[0]
    for after_step in weights[1:]:
        expected = [BETA * average + (1 - BETA) * weight for average, weight in zip(expected, after_step)]
    for average, want in zip(values(model.generator_average.averages), expected):
        np.testing.assert_allclose(average, want, rtol=1e-5, atol=1e-7)


def translations(model: StarGANv2) -> list:
    sources, _, references, _, target_domains = make_batch(5)
    return [
        keras.ops.convert_to_numpy(model.translate_with_reference(sources, references, target_domains)),
        keras.ops.convert_to_numpy(model.translate_with_latent(sources, latents(3), target_domains)),
    ]


def test_save_and_load_weights_restore_the_networks_optimizers_average_and_schedule(trained, tmp_path):
    model, _, _ = trained
    path = str(tmp_path / "state.weights.h5")
    model.save_weights(path)

    restored = compiled(ema_decay=BETA, seed=2, diversity_weight=DIVERSITY_WEIGHT, diversity_decay_steps=DECAY_STEPS)
    assert not np.array_equal(translations(restored)[0], translations(model)[0])
    restored.load_weights(path)

    for got, want in zip(translations(restored), translations(model)):
        np.testing.assert_array_equal(got, want)
    for name in model.optimizer_names:
        assert int(getattr(restored, name).iterations) == int(getattr(model, name).iterations), name
        for got, want in zip(values(getattr(restored, name).variables), values(getattr(model, name).variables)):
            np.testing.assert_array_equal(got, want)
    for got, want in zip(values(restored.generator_average.averages), values(model.generator_average.averages)):
        np.testing.assert_array_equal(got, want)
    assert int(restored.completed_iterations) == 2
    # The resumed run's third iteration continues the decay: λ_ds (1 − 2/3).
    assert run_step(restored, make_batch(2))["lambda_ds"] == pytest.approx(0.5)


# -- the harness's four optimizers -----------------------------------------------------------------------


def test_compile_for_training_gives_f_its_own_rate_and_e_the_generators(tmp_path):
    config = {**toy_config(tmp_path / "run", g_learning_rate=1e-4, d_learning_rate=2e-4), "mapping_learning_rate": 1e-6}

    model = fit.compile_for_training(StarGANv2(**SETTINGS), config)

    rates = {name: float(getattr(model, name).learning_rate) for name in model.optimizer_names}
    assert rates == pytest.approx(
        {"g_optimizer": 1e-4, "d_optimizer": 2e-4, "mapping_optimizer": 1e-6, "style_optimizer": 1e-4}
    )
    for name, network in (("mapping_optimizer", model.mapping_network), ("style_optimizer", model.style_encoder)):
        optimizer = getattr(model, name)
        assert optimizer.built and optimizer.name == name
        assert model.optimizer_variables(name) == network.trainable_variables


# -- inference, grids, configuration -------------------------------------------------------------------


def test_calling_the_model_translates_to_domain_0_with_the_style_of_z_0():
    model = StarGANv2(**SETTINGS)
    sources = make_batch()[0]

    expected = model.translate_with_latent(sources, np.zeros((BATCH, 16), "float32"), np.zeros(BATCH, "int32"))

    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(sources)), expected, rtol=1e-5, atol=1e-6)
    assert model.built


def test_translations_use_the_style_of_their_reference_or_latent_code():
    model = StarGANv2(**SETTINGS)
    sources, _, references, second_references, target_domains = make_batch()

    by_reference = model.translate_with_reference(sources, references, target_domains)
    generator = model.generators["generator"]
    styles = model.style_encoder(tensors(references, target_domains))

    np.testing.assert_allclose(by_reference, generator(tensors(sources, styles)), rtol=1e-5, atol=1e-6)
    other = model.translate_with_reference(sources, second_references, target_domains)
    assert not np.allclose(by_reference, other)


def test_sample_grid_rows_are_sources_references_and_both_translations(trained):
    model, _, _ = trained
    sources, source_domains, references, second_references, target_domains = make_batch()

    rows = model.sample_grid(sources, source_domains, references, second_references, target_domains)

    assert [name for name, _ in rows] == ["source", "reference", "reference-guided", "latent-guided"]
    assert all(images.shape == (BATCH, SIZE, SIZE, 3) and images.dtype == np.float32 for _, images in rows)
    np.testing.assert_array_equal(rows[0][1], sources)
    np.testing.assert_array_equal(rows[1][1], references)
    expected = model.translate_with_latent(sources, model.grid_latents(BATCH), target_domains)
    np.testing.assert_allclose(rows[3][1], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.grid_latents(BATCH), model.grid_latents(BATCH))  # fixed across epochs


def test_exports_are_g_f_and_e_and_the_config_rebuilds_the_model():
    model = StarGANv2(**SETTINGS, num_domains=3, style_dim=8, seed=7)

    rebuilt = StarGANv2.from_config(model.get_config())

    assert set(model.exportable_models()) == {"generator", "mapping_network", "style_encoder"}
    assert rebuilt.hyperparameters == model.hyperparameters and rebuilt.seed == 7
    assert rebuilt.count_params() == model.count_params()
    assert not hasattr(model, "fan")


def test_hyperparameters_default_to_the_official_settings_and_reject_others():
    defaults = StarGANv2Hyperparameters()

    assert defaults.to_config() == {
        "image_size": 256,
        "num_domains": 2,
        "style_dim": 64,
        "latent_dim": 16,
        "max_conv_dim": 512,
        "first_conv_dim": 0,
        "rematerialize_size": 128,  # not the official's: it keeps every map (the same gradients, more memory)
        "w_hpf": 0,
        "r1_weight": 1.0,
        "style_weight": 1.0,
        "cycle_weight": 1.0,
        "diversity_weight": 1.0,
        "diversity_decay_steps": 100_000,
    }
    with pytest.raises(ValueError, match="w_hpf must be one of"):
        StarGANv2Hyperparameters(w_hpf=2)
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        StarGANv2Hyperparameters(image_size=48)


def test_the_diversity_weight_enters_the_generators_step_with_a_minus_sign():
    # One plain gradient step of G, F and E at λ_ds = 100, small enough to be first order: the diversity
    # term then dominates the step, which must raise L_ds (G maximises it, eq. 5), not lower it.
    sources, source_domains, _, _, target_domains = make_batch()
    keras.utils.set_random_seed(3)
    model = StarGANv2(**SETTINGS)
    model.compile(**{name: keras.optimizers.SGD(1e-5, name=name) for name in model.optimizer_names})

    def diversity():
        first = model.translate_with_latent(sources, latents(1), target_domains)
        return float(losses.diversity_loss(first, model.translate_with_latent(sources, latents(2), target_domains)))

    before = diversity()
    terms = model.latent_generator_step(sources, source_domains, target_domains, latents(1), latents(2), 100.0)

    assert float(terms["G_latent_ds"]) == pytest.approx(before, rel=1e-5)
    assert diversity() > before + 0.005


# -- the high-pass path (w_hpf = 1) ----------------------------------------------------------------------


def test_with_w_hpf_the_fan_gives_the_masks_and_is_neither_trained_nor_averaged_nor_exported():
    model = compiled(ema_decay=BETA, w_hpf=1)
    sources, source_domains, references, second_references, target_domains = make_batch()
    fan_weights = values(model.fan.weights)

    masks = model.masks(sources)
    translated = model.translate_with_reference(sources, references, target_domains)
    generator, styles = model.generators["generator"], model.style_encoder(tensors(references, target_domains))
    with_masks = generator(tensors(sources, styles, masks))
    terms = model.reference_generator_step(sources, source_domains, target_domains, references, second_references, 1.0)

    assert masks.shape == (BATCH, SIZE, SIZE, 2)
    np.testing.assert_allclose(translated, with_masks, rtol=1e-5, atol=1e-6)
    assert all(np.isfinite(float(value)) for value in terms.values())
    assert not model.fan.trainable_variables
    for before, after in zip(fan_weights, values(model.fan.weights)):
        np.testing.assert_array_equal(before, after)
    assert not {id(w) for w in model.fan.weights} & {id(w) for w in ema.generator_weights(model)}
    assert "fan" not in model.exportable_models()
