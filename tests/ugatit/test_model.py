"""ugatit.model: the reference's training step, ρ's clipping, the keypoint-loss methods, mixed precision, export."""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import fit, gan_losses
from training.optimizers import CoupledAdam
from ugatit import factored_updates, kernel_gradients, keypoints, losses, networks
from ugatit.model import DIRECTIONS, TRACKERS, UGATIT

SIZE = 96  # the smallest image the global discriminator takes
FILTERS = 8


def tiny_model(**kwargs) -> UGATIT:
    keras.utils.set_random_seed(0)
    return UGATIT(image_size=SIZE, light=kwargs.pop("light", True), filters=FILTERS, **kwargs)


def adam(learning_rate: float = 1e-4):
    return CoupledAdam(learning_rate, beta_1=0.5, beta_2=0.999, weight_decay=1e-4)


def compiled(model: UGATIT, learning_rate: float = 1e-4) -> UGATIT:
    model.compile(g_optimizer=adam(learning_rate), d_optimizer=adam(learning_rate), optimizer=None)
    model.build((None, SIZE, SIZE, 3))
    return model


def batch(seed: int = 0, n: int = 1, landmarks: bool = False):
    rng = np.random.default_rng(seed)
    a, b = (rng.uniform(-1, 1, (n, SIZE, SIZE, 3)).astype("float32") for _ in range(2))
    if not landmarks:
        return a, b
    points = rng.uniform(0.3 * SIZE, 0.7 * SIZE, (n, keypoints.LANDMARK_COUNT, 2)).astype("float32")
    return a, b, points


def smooth_batch(seed: int = 0):
    """(a, b): colour fields of 6x6 random cells blurred to SIZE: images an encoder-decoder can learn to keep."""
    rng = np.random.default_rng(seed)
    cells = rng.uniform(-1, 1, (2, 6, 6, 3)).astype("float32")
    fields = keras.ops.convert_to_numpy(keras.ops.image.resize(cells, (SIZE, SIZE), interpolation="bilinear"))
    return fields[:1], fields[1:]


def snapshot(variables) -> list:
    return [np.array(variable.numpy()) for variable in variables]


def changed(before, variables) -> list[bool]:
    return [not np.array_equal(old, new.numpy()) for old, new in zip(before, variables)]


@pytest.fixture
def policy():
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


def test_a_train_step_is_one_discriminator_update_then_one_generator_update_of_every_weight():
    model = compiled(tiny_model())
    generators, discriminators = model.generator_variables, model.discriminator_variables
    g_before, d_before = snapshot(generators), snapshot(discriminators)
    logs = model.train_step(batch())
    assert all(changed(g_before, generators)), [
        v.path for v, c in zip(generators, changed(g_before, generators)) if not c
    ]
    assert all(changed(d_before, discriminators))
    assert int(model.d_optimizer.iterations) == 1 and int(model.g_optimizer.iterations) == 1
    assert set(logs) == set(TRACKERS)
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert float(logs["keypoint"]) == 0.0  # no keypoint loss: the tracker reads 0


@pytest.mark.parametrize("light, rows_per_block", [(True, 12), (False, 5000)], ids=["light", "full"])
def test_train_steps_that_apply_the_mlp_kernels_gradient_factors_block_by_block_are_those_given_it_whole(
    light, rows_per_block, monkeypatch
):
    """Each generator's MLP kernel kept as row blocks, whose gradients `ugatit.factored_updates` builds and
    applies one after another with a `CoupledAdam`; with factoring off the optimizer is given each block's
    X^T dY. Two steps land on the same weights and moments."""
    monkeypatch.setattr(networks, "MLP_KERNEL_ROWS_PER_BLOCK", rows_per_block)
    results = {}
    for factored in (True, False):
        monkeypatch.setattr(factored_updates, "takes_factored_gradients", lambda optimizer, answer=factored: answer)
        model = compiled(tiny_model(light=light))
        for seed in (0, 1):
            model.train_step(batch(seed))
        results[factored] = (snapshot(model.generator_variables), snapshot(model.g_optimizer.variables))
    blocks = [v for v in model.generator_variables if "mlp_fc1" in v.path]
    assert len(blocks) == (2 * 3 if light else 2 * 4)  # 32 rows in blocks of 12; 24 * 24 * 32 rows in blocks of 5000
    for got, expected in zip(keras.tree.flatten(results[True]), keras.tree.flatten(results[False])):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("light", [True, False])
def test_the_generator_gradients_are_the_tapes_with_each_mlp_kernel_built_in_one_product(light):
    """The generator step's `KernelGradientRecording` (each generator's first MLP kernel, used to translate and to
    reconstruct) gives what a plain tape gives, kernel by kernel; inference mode, so the discriminators' spectral
    normalisation does not move between the two passes."""
    model = tiny_model(light=light)
    a, b = batch()

    def generator_gradients(recorded: bool):
        tape = tf.GradientTape()
        recording = kernel_gradients.KernelGradientRecording(tape)
        with tape, recording if recorded else contextlib.nullcontext():
            loss = sum(model.generator_losses(a, b, model.translate_all(a, b)).values())
        if recorded:
            return recording.gradients(loss, model.generator_variables)
        return tape.gradient(loss, model.generator_variables)

    recorded, plain = generator_gradients(recorded=True), generator_gradients(recorded=False)
    mlp_kernels = [v.path for v in model.generator_variables if "mlp_fc1" in v.path]
    assert len(mlp_kernels) == 2
    for variable, got, expected in zip(model.generator_variables, recorded, plain):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7, err_msg=variable.path)


def test_rho_is_clipped_to_0_1_after_every_generator_update():
    model = compiled(tiny_model(), learning_rate=1.0)  # steps of ~1 push many ρ past a bound
    rhos = [variable for variable in model.generator_variables if variable.path.endswith("rho")]
    assert len(rhos) == 2 * (4 * 2 + 2)  # per generator: 2 AdaLIN in each of 4 blocks, 2 ILN
    for step in range(2):
        model.train_step(batch(step))
        values = np.concatenate([rho.numpy() for rho in rhos])
        assert values.min() >= 0.0 and values.max() <= 1.0
    assert np.isin(values, (0.0, 1.0)).mean() > 0.2  # the clip acted: unclipped values would be off the bounds


def test_the_reconstruction_losses_fall_on_a_fixed_batch():
    """Without the adversarial and CAM terms, a few steps must lower the cycle and identity losses."""
    model = compiled(tiny_model(adversarial_weight=0.0, cam_weight=0.0), learning_rate=1e-3)
    a, b = fixed = smooth_batch()

    def reconstruction_terms():
        terms = model.generator_losses(a, b, model.translate_all(a, b))
        return float(terms["cycle_A"] + terms["cycle_B"]), float(terms["identity_A"] + terms["identity_B"])

    cycle_before, identity_before = reconstruction_terms()
    for _ in range(6):
        model.train_step(fixed)
    cycle_after, identity_after = reconstruction_terms()
    assert cycle_after < 0.9 * cycle_before and identity_after < 0.9 * identity_before


def test_the_generator_terms_are_the_weighted_losses_of_the_reference():
    model = tiny_model(adversarial_weight=2.0, cycle_weight=3.0, identity_weight=5.0, cam_weight=7.0)
    a, b = batch()
    translated = model.translate_all(a, b)
    terms = model.generator_losses(a, b, translated)
    gen_a2b, gen_b2a = model.generators["genA2B"], model.generators["genB2A"]
    fake_b, cam_a2b, _ = gen_a2b(a)
    reconstructed_a = gen_b2a(fake_b)[0]
    same_b, cam_b2b, _ = gen_a2b(b)
    adversarial_b = sum(
        gan_losses.generator_adversarial_loss(model.discriminators[name](fake_b)[0], "lsgan")
        + gan_losses.generator_adversarial_loss(model.discriminators[name](fake_b)[1], "lsgan")
        for name in ("disGB", "disLB")
    )
    np.testing.assert_allclose(terms["adversarial_B"], 2.0 * adversarial_b, rtol=1e-5)
    np.testing.assert_allclose(terms["cycle_A"], 3.0 * np.mean(np.abs(reconstructed_a - a)), rtol=1e-5)
    np.testing.assert_allclose(terms["identity_B"], 5.0 * np.mean(np.abs(same_b - b)), rtol=1e-5)
    np.testing.assert_allclose(terms["cam_B"], 7.0 * losses.generator_cam_loss(cam_a2b, cam_b2b), rtol=1e-5)


def test_one_pass_per_generator_gives_each_translation_and_identity_of_separate_passes():
    model = tiny_model()
    a, b = batch(n=2)
    translated = model.translate_all(a, b)
    gen_a2b, gen_b2a = model.generators["genA2B"], model.generators["genB2A"]
    separate = {"A2B": gen_a2b(a), "B2B": gen_a2b(b), "B2A": gen_b2a(b), "A2A": gen_b2a(a)}
    assert set(translated) == set(separate)
    for key, outputs in separate.items():
        assert len(translated[key]) == len(outputs) == 3  # image, CAM logits, heatmap
        for joint, alone in zip(translated[key], outputs):
            assert joint.shape == alone.shape and joint.shape[0] == 2
            np.testing.assert_allclose(joint, alone, rtol=1e-4, atol=1e-5)


def test_the_discriminator_terms_sum_the_global_and_local_critics_of_each_domain():
    model = tiny_model(adversarial_weight=2.0)
    a, b = batch()
    fake_a, fake_b = model.translate(b, "cartoon2face"), model.translate(a, "face2cartoon")
    terms = model.discriminator_losses(a, b, fake_a, fake_b)
    expected = sum(
        losses.adversarial_discriminator_loss(model.discriminators[name](a), model.discriminators[name](fake_a))
        for name in ("disGA", "disLA")
    )
    np.testing.assert_allclose(terms["D_A"], 2.0 * expected, rtol=1e-5)


@pytest.mark.parametrize("method, weight", [("m1", "cycle_weight"), ("m2", "adversarial_weight")])
def test_m1_and_m2_add_the_keypoint_loss_of_the_reconstructions_with_their_weight(method, weight):
    model = tiny_model(keypoint_method=method, cycle_weight=10.0, adversarial_weight=1.5)
    a, b, points = batch(landmarks=True)
    terms = model.generator_losses(a, b, model.translate_all(a, b), points)
    reconstructed = model.generators["genB2A"](model.generators["genA2B"](a)[0])[0]
    expected = keypoints.keypoint_loss(model.keypoint_predictor(reconstructed), points, SIZE)
    np.testing.assert_allclose(terms["keypoint"], getattr(model, weight) * expected, rtol=1e-5)
    assert float(terms["keypoint"]) > 0


def test_the_keypoint_predictor_stays_frozen_during_gan_steps():
    model = compiled(tiny_model(keypoint_method="m2"))
    before = snapshot(model.keypoint_predictor.weights)
    model.train_step(batch(landmarks=True))
    assert not any(changed(before, model.keypoint_predictor.weights))


def test_m3_steps_gen_a2b_alone_with_its_own_optimizer():
    model = compiled(tiny_model(keypoint_method="m3"))
    a, _, points = batch(landmarks=True)
    others = [
        *model.generators["genB2A"].trainable_variables,
        *model.discriminator_variables,
        *model.keypoint_predictor.weights,
    ]
    gen_a2b = model.generators["genA2B"].trainable_variables
    others_before, a2b_before = snapshot(others), snapshot(gen_a2b)
    loss = model._keypoint_step(a, points)
    assert float(loss) > 0
    assert not any(changed(others_before, others))
    assert sum(changed(a2b_before, gen_a2b)) > 0.9 * len(gen_a2b)
    assert model.keypoint_optimizer is not model.g_optimizer and int(model.keypoint_optimizer.iterations) == 1
    assert int(model.g_optimizer.iterations) == 0


def test_an_m3_train_step_leaves_the_keypoint_loss_out_of_the_generator_step():
    """With equal seeds, M3's generator step moves genB2A exactly as a run without the keypoint loss does."""
    data = batch(landmarks=True)
    moved = {}
    for method in ("off", "m3"):
        model = compiled(tiny_model(keypoint_method=method))
        model.train_step(data if method == "m3" else data[:2])
        moved[method] = snapshot(model.generators["genB2A"].trainable_variables)
        if method == "m3":
            assert int(model.keypoint_optimizer.iterations) == 1
    for off, m3 in zip(moved["off"], moved["m3"]):
        np.testing.assert_allclose(m3, off, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("light", [True, False], ids=["light", "full"])
def test_a_mixed_bfloat16_step_keeps_float32_weights_and_changes_them(policy, light):
    policy("mixed_bfloat16")
    model = compiled(tiny_model(light=light))
    variables = model.generator_variables + model.discriminator_variables
    assert {variable.dtype for variable in variables} == {"float32"}
    before = snapshot(variables)
    logs = model.train_step(batch())
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert np.mean(changed(before, variables)) > 0.95
    assert model.translate(batch()[0], "face2cartoon").dtype == "float32"


def test_a_mixed_float16_step_with_loss_scaling(policy):
    policy("mixed_float16")
    model = tiny_model()
    config = {
        "optimizer": "adam",
        "beta_1": 0.5,
        "beta_2": 0.999,
        "weight_decay": 1e-4,
        "weight_decay_mode": "coupled",
        "lr_schedule": "constant",
        "learning_rate": 1e-4,
        "g_learning_rate": 1e-4,
        "d_learning_rate": 1e-4,
        "epochs": 1,
        "steps_per_epoch": 1,
        "jit_compile": False,
    }
    fit.compile_for_training(model, config)
    assert isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    # From the default scale of 2^15, λ4 = 1000 overflows the first float16 gradients and the optimizers skip
    # those steps, halving the scale each time; start where a step applies.
    for optimizer in (model.g_optimizer, model.d_optimizer):
        optimizer.dynamic_scale.assign(8.0)
    model.build((None, SIZE, SIZE, 3))
    rhos = [variable for variable in model.generator_variables if variable.path.endswith("rho")]
    before = snapshot(model.generator_variables)
    logs = model.train_step(batch())
    assert all(np.isfinite(float(value)) for value in logs.values())
    assert np.mean(changed(before, model.generator_variables)) > 0.95
    assert all(0.0 <= rho.numpy().min() and rho.numpy().max() <= 1.0 for rho in rhos)


def test_sample_grid_shows_every_heatmap_beside_the_translations():
    model = tiny_model()
    a, b = batch(n=2)
    rows = model.sample_grid(a, b)
    assert [name for name, _ in rows] == [
        "face",
        "genA2B CAM",
        "genA2B",
        "disGB CAM",
        "disLB CAM",
        "genB2A(genA2B)",
        "cartoon",
        "genB2A CAM",
        "genB2A",
        "disGA CAM",
        "disLA CAM",
        "genA2B(genB2A)",
    ]
    for name, images in rows:
        assert images.shape == (2, SIZE, SIZE, 3), name
        assert images.min() >= -1.0 and images.max() <= 1.0, name
    np.testing.assert_array_equal(rows[0][1], a)


def test_config_round_trip_and_exported_translators(tmp_path):
    model = tiny_model(keypoint_method="m2", cam_weight=500.0)
    restored = UGATIT.from_config(model.get_config())
    assert restored.get_config() == model.get_config()
    a, _ = batch()
    assert set(model.exportable_models()) == set(DIRECTIONS)
    for direction, translator in model.exportable_models().items():
        path = tmp_path / f"{direction}.keras"
        translator.save(path)
        loaded = keras.saving.load_model(path, compile=False)
        np.testing.assert_allclose(loaded(a), model.translate(a, direction), rtol=1e-5, atol=1e-6)
        assert len(loaded.outputs) == 1  # the translation alone, without the CAM outputs
