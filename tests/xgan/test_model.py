"""xgan.model.XGAN: training steps, precision, distribution, export and serialisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from xgan import losses, networks
from xgan.model import XGAN, embedding_spread

REPO_ROOT = Path(__file__).resolve().parents[2]
TRACKED = [
    "Discriminator_loss",
    "Generator_loss",
    "autoencoder_loss",
    "domain_adversarial_loss",
    "semantic_loss",
    "gan_loss",
    "face_embedding_spread",
    "cartoon_embedding_spread",
    "domain_confusion_loss",
]
REVERSAL_TRACKED = [name for name in TRACKED if name != "domain_confusion_loss"]


def smooth_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """Low-frequency random images in [-1, 1]: learnable by an auto-encoder within a few steps."""
    coarse = rng.uniform(-1.0, 1.0, (n, 4, 4, 3)).astype(np.float32)
    return np.clip(tf.image.resize(coarse, (64, 64), method="bilinear").numpy(), -1.0, 1.0)


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    """(faces, cartoons), 2 of each."""
    rng = np.random.default_rng(7)
    return smooth_images(rng, 2), smooth_images(rng, 2)


def test_embedding_spread_matches_numpy_and_is_zero_for_a_collapsed_batch():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(6, 1024)).astype(np.float32) + 2.0
    deviations = embeddings - embeddings.mean(axis=0)
    expected = np.linalg.norm(deviations, axis=-1).mean() / np.linalg.norm(embeddings, axis=-1).mean()
    np.testing.assert_allclose(float(embedding_spread(embeddings)), expected, rtol=1e-5)
    assert float(embedding_spread(np.repeat(embeddings[:1], 6, axis=0))) == pytest.approx(0.0, abs=1e-6)
    assert float(embedding_spread(np.stack([embeddings[0], -embeddings[0]]))) == pytest.approx(1.0)


def adam() -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(1e-3, beta_1=0.5)


def values(variables) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(variable) for variable in variables]


def changed(before: list[np.ndarray], variables) -> list[bool]:
    return [not np.array_equal(old, new) for old, new in zip(before, values(variables))]


def tiny_teacher() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((64, 64, 3)),
            keras.layers.Conv2D(4, 8, strides=8),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1024),
        ],
        name="tiny_teacher",
    )


@pytest.mark.parametrize("objective", ["confusion", "reversal"])
def test_variables_are_split_between_the_two_players(objective):
    model = XGAN(discriminate="both", domain_objective=objective)
    generator = {id(v) for v in model.generator_variables}
    discriminator = {id(v) for v in model.discriminator_variables}
    assert not generator & discriminator
    assert generator | discriminator == {id(v) for v in model.trainable_variables}
    classifier = {id(v) for v in model.domain_classifier.trainable_variables}
    # c_dann trains with the generator through gradient reversal, with the discriminators under confusion
    assert classifier and classifier <= (generator if objective == "reversal" else discriminator)


def test_encoding_touches_only_its_domain_and_the_shared_variables(batch):
    model = XGAN()
    faces, _ = batch
    with tf.GradientTape() as tape:
        model.encode(faces, "face")
    used = {id(v) for v in tape.watched_variables()}  # the tf.Variables behind the Keras variables
    expected = model.private_encoders["face"].trainable_variables + model.shared_encoder.trainable_variables
    assert used == {id(v.value) for v in expected}


@pytest.mark.parametrize("mirror", [True, False])
def test_private_halves_start_as_copies_only_when_mirrored(batch, mirror):
    model = XGAN(mirror_private_init=mirror)
    faces, _ = batch
    same_encoders = np.array_equal(model.encode(faces, "face"), model.encode(faces, "cartoon"))
    embeddings = model.encode(faces, "face")
    same_decoders = np.array_equal(model.decode(embeddings, "face"), model.decode(embeddings, "cartoon"))
    assert same_encoders == same_decoders == mirror
    face_variables = {id(v) for v in model.private_encoders["face"].trainable_variables}
    assert not face_variables & {id(v) for v in model.private_encoders["cartoon"].trainable_variables}


@pytest.mark.parametrize(
    "objective, tracked, layers",
    [
        ("confusion", TRACKED, {}),
        ("reversal", REVERSAL_TRACKED, {}),
        ("confusion", TRACKED, {"upsampling": "resize_conv", "spectral_norm": True}),
    ],
)
def test_one_train_step_updates_every_trainable_variable(batch, objective, tracked, layers):
    model = XGAN(discriminate="both", domain_objective=objective, **layers)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    generator_before = values(model.generator_variables)
    discriminator_before = values(model.discriminator_variables)

    logs = model.train_step(batch)

    assert sorted(logs) == sorted(tracked)
    assert all(np.isfinite(float(value)) for value in logs.values())
    unchanged = [
        variable.path
        for variable, moved in zip(model.generator_variables, changed(generator_before, model.generator_variables))
        if not moved
    ] + [
        variable.path
        for variable, moved in zip(
            model.discriminator_variables, changed(discriminator_before, model.discriminator_variables)
        )
        if not moved
    ]
    assert not unchanged
    assert {network.name for network in model.discriminators.values()} == {
        "face_discriminator",
        "cartoon_discriminator",
    }


def test_autoencoder_loss_falls_on_a_fixed_batch():
    """The whole train_step runs; only ω_rec is non-zero so the drop is the auto-encoders' own learning."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    faces, cartoons = smooth_images(rng, 4), smooth_images(rng, 4)
    model = XGAN(domain_adversarial_weight=0.0, semantic_weight=0.0, adversarial_weight=0.0)
    model.compile(g_optimizer=adam(), d_optimizer=adam())

    history = model.fit(
        tf.data.Dataset.from_tensors((faces, cartoons)).repeat(), epochs=50, steps_per_epoch=1, shuffle=False, verbose=0
    ).history

    autoencoder = np.array(history["autoencoder_loss"])
    assert np.mean(autoencoder[-5:]) < 0.3 * autoencoder[0], autoencoder
    np.testing.assert_allclose(history["Generator_loss"], autoencoder, rtol=1e-6)


@pytest.mark.parametrize(
    "objective, domain_term", [("confusion", "domain_confusion_loss"), ("reversal", "domain_adversarial_loss")]
)
def test_generator_loss_is_the_weighted_sum_of_the_paper_terms(batch, objective, domain_term):
    weights = dict(
        reconstruction_weight=1.5,
        domain_adversarial_weight=0.5,
        semantic_weight=2.0,
        adversarial_weight=0.25,
        teacher_weight=3.0,
    )
    model = XGAN(**weights, teacher=tiny_teacher(), discriminate="both", domain_objective=objective)
    terms = {name: float(value) for name, value in model.generator_losses(*batch).items()}
    expected = (
        1.5 * terms["autoencoder_loss"]
        + 0.5 * terms[domain_term]
        + 2.0 * terms["semantic_loss"]
        + 0.25 * terms["gan_loss"]
        + 3.0 * terms["teacher_loss"]
    )
    np.testing.assert_allclose(terms["Generator_loss"], expected, rtol=1e-6)
    assert all(value > 0 for value in terms.values())


def test_test_step_reports_the_losses_without_updating(batch):
    model = XGAN()
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    before = values(model.trainable_variables)
    logs = model.test_step(batch)
    assert sorted(logs) == sorted(TRACKED)
    assert not any(changed(before, model.trainable_variables))
    np.testing.assert_allclose(
        float(logs["autoencoder_loss"]), float(model.generator_losses(*batch)["autoencoder_loss"]), rtol=1e-6
    )


def test_teacher_loss_trains_the_encoder_towards_a_frozen_teacher(batch):
    teacher = tiny_teacher()
    teacher_before = values(teacher.weights)
    model = XGAN(teacher=teacher)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    faces, _ = batch
    expected = losses.teacher_loss(model.encode(faces, "face"), teacher(faces))

    logs = model.train_step(batch)

    assert [metric.name for metric in model.metrics] == TRACKED + ["teacher_loss"]
    np.testing.assert_allclose(float(logs["teacher_loss"]), float(expected), rtol=1e-5)
    assert not any(changed(teacher_before, teacher.weights))
    assert not {id(v) for v in teacher.weights} & {id(v) for v in model.trainable_variables}


def test_teacher_with_the_wrong_embedding_size_is_rejected():
    teacher = keras.Sequential(
        [keras.Input((64, 64, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(128)]
    )
    with pytest.raises(ValueError, match="1024"):
        XGAN(teacher=teacher)


@pytest.mark.parametrize(
    "argument", [{"semantic_distance": "l3"}, {"gan_loss": "wgan"}, {"discriminate": "face"}], ids=str
)
def test_unknown_options_are_rejected(argument):
    with pytest.raises(ValueError, match="must be one of"):
        XGAN(**argument)


@pytest.fixture
def mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")


def test_mixed_float16_steps_train_with_finite_losses_and_float32_images(batch, mixed_float16):
    model = XGAN(discriminate="both")
    assert model.shared_encoder.get_layer("shared_encoder_fc1").compute_dtype == "float16"
    model.compile(
        g_optimizer=keras.optimizers.LossScaleOptimizer(adam()),
        d_optimizer=keras.optimizers.LossScaleOptimizer(adam()),
    )
    generator_before = values(model.generator_variables)
    discriminator_before = values(model.discriminator_variables)

    # A step whose scaled float16 gradients overflow is skipped and the loss scale halved (from 2^15): the
    # generator's first 2 to 5 steps here, by CPU (oneDNN or Eigen float16 kernels). Train until each optimiser
    # has applied one, at most until the scale would fall below 1.
    for _ in range(16):
        logs = model.train_step(batch)
        assert all(np.isfinite(float(value)) for value in logs.values())
        if int(model.g_optimizer.iterations) and int(model.d_optimizer.iterations):
            break

    assert int(model.g_optimizer.iterations) >= 1 and int(model.d_optimizer.iterations) >= 1
    assert all(changed(generator_before, model.generator_variables))
    assert all(changed(discriminator_before, model.discriminator_variables))
    faces, cartoons = batch
    outputs = [model.translate(faces, "face2cartoon"), model.exportable_models()["cartoon2face"](cartoons)]
    outputs += [images for _, images in model.sample_grid(faces, cartoons)]
    assert {keras.backend.standardize_dtype(output.dtype) for output in outputs} == {"float32"}


MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import tensorflow as tf

    # Two logical CPUs: must be configured before TensorFlow initialises its devices.
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from xgan.model import XGAN, embedding_spread

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    faces, cartoons = (rng.uniform(-1, 1, (4, 64, 64, 3)).astype("float32") for _ in range(2))
    global_batch = tf.data.Dataset.from_tensors((faces, cartoons))

    def one_step(strategy, weights=None):
        with strategy.scope():
            model = XGAN(discriminate="both")
            if weights is not None:
                model.set_weights(weights)
            # SGD: the update is proportional to the gradient, so replicas mis-averaging would show.
            # Eager: tracing the replicated step costs more than running it once.
            model.compile(
                g_optimizer=keras.optimizers.SGD(0.1), d_optimizer=keras.optimizers.SGD(0.1), run_eagerly=True
            )
        before = model.get_weights()
        logs = model.fit(global_batch, epochs=1, verbose=0).history
        return before, model.get_weights(), {name: values[-1] for name, values in logs.items()}

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    before, after_mirrored, mirrored_logs = one_step(mirrored)
    _, after_single, single_logs = one_step(tf.distribute.get_strategy(), before)
    def norm(arrays):
        return float(np.sqrt(sum(np.sum(np.square(array)) for array in arrays)))

    print(json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "mirrored_logs": mirrored_logs,
        "single_logs": single_logs,
        "update": norm(a - b for a, b in zip(after_single, before)),
        "difference": norm(a - b for a, b in zip(after_mirrored, after_single)),
    }))
    """
)


def test_mirrored_strategy_on_two_devices_matches_one_device():
    """A step on 2 replicas x 2 examples equals a step on 1 device x 4: the losses are global-batch means."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["replicas"] == 2
    assert sorted(report["mirrored_logs"]) == sorted(TRACKED)
    for name, value in report["single_logs"].items():
        if name.endswith("_embedding_spread"):  # a statistic of each replica's own batch, not a global mean
            assert 0.0 < report["mirrored_logs"][name] <= 1.0, name
            continue
        np.testing.assert_allclose(report["mirrored_logs"][name], value, rtol=1e-4, err_msg=name)
    # A mis-averaged step (replicas' gradients summed, not averaged) would be off by ~100% of the update.
    # Not exactly 0%: per-replica batch shapes change float rounding (~1e-6), which the ReLU kinks of the
    # decoders can turn into differences of a few percent in some gradients.
    assert report["update"] > 1e-1
    assert report["difference"] < 0.02 * report["update"]


def test_exported_translators_round_trip_through_keras_files(batch, tmp_path):
    model = XGAN()
    faces, cartoons = batch
    inputs = {"face2cartoon": faces, "cartoon2face": cartoons}
    exported = model.exportable_models()
    assert sorted(exported) == ["cartoon2face", "face2cartoon"]

    for direction, translator in exported.items():
        path = tmp_path / f"{direction}.keras"
        translator.save(path)
        restored = keras.saving.load_model(path)
        expected = keras.ops.convert_to_numpy(translator(inputs[direction]))
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored(inputs[direction])), expected)
        np.testing.assert_allclose(model.translate(inputs[direction], direction), expected, rtol=1e-6, atol=1e-6)


def test_get_config_round_trip_keeps_the_hyper_parameters():
    model = XGAN(
        reconstruction_weight=2.0,
        domain_adversarial_weight=0.1,
        semantic_weight=3.0,
        adversarial_weight=0.5,
        teacher_weight=0.2,
        semantic_distance="cosine",
        gan_loss="lsgan",
        discriminate="both",
        domain_objective="reversal",
        gradient_reversal_scale=0.3,
        gradient_reversal_ramp_steps=7,
        warmup_steps=11,
        mirror_private_init=False,
        upsampling="resize_conv",
        spectral_norm=True,
        reconstruction_distance="l1",
        teacher=tiny_teacher(),
    )
    config = model.get_config()
    as_json = json.dumps(config)  # the config must survive JSON, as in a .keras file
    clone = XGAN.from_config(json.loads(as_json))
    assert json.dumps(clone.get_config()) == as_json
    assert sorted(clone.discriminators) == ["cartoon", "face"]
    assert clone.domain_classifier.get_layer("domain_classifier_gradient_reversal").scale == 0.3
    assert clone.gradient_reversal_ramp_steps == 7
    assert clone.mirror_private_init is False
    assert clone.warmup_steps == 11
    assert clone.teacher.name == "tiny_teacher"


@pytest.mark.parametrize("layers", [{}, {"upsampling": "resize_conv", "spectral_norm": True}])
def test_whole_model_round_trips_through_a_keras_file(batch, tmp_path, layers):
    model = XGAN(semantic_distance="l2", discriminate="both", **layers)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    model.train_step(batch)
    path = tmp_path / "xgan.keras"
    model.save(path)

    restored = keras.saving.load_model(path)

    assert isinstance(restored, XGAN) and restored.get_config() == model.get_config()
    faces, _ = batch
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored.translate(faces, "face2cartoon")),
        keras.ops.convert_to_numpy(model.translate(faces, "face2cartoon")),
    )
    assert int(restored.g_optimizer.iterations) == int(model.g_optimizer.iterations) == 1
    for original, loaded in zip(model.g_optimizer.variables, restored.g_optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded), keras.ops.convert_to_numpy(original))


def test_call_translates_faces_to_cartoons(batch):
    model = XGAN()
    faces, _ = batch
    np.testing.assert_allclose(model(faces), model.translate(faces, "face2cartoon"), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="direction"):
        model.translate(faces, "photo2cartoon")


def test_sample_grid_rows(batch):
    model = XGAN()
    faces, cartoons = batch
    rows = model.sample_grid(faces, cartoons)
    assert [name for name, _ in rows] == [
        "face",
        "face2cartoon",
        "face2face",
        "cartoon",
        "cartoon2face",
        "cartoon2cartoon",
    ]
    for _, images in rows:
        assert isinstance(images, np.ndarray) and images.shape == (2, 64, 64, 3)
        assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(rows[0][1], faces)
    np.testing.assert_allclose(rows[1][1], model.translate(faces, "face2cartoon"), rtol=1e-6, atol=1e-6)


def test_gradient_reversal_ramp_follows_ganins_schedule(batch):
    """λ_p / λ = 2 / (1 + exp(-10 p)) - 1: 0 at the first step, ~0.987 halfway, 1 from the end of the ramp on."""
    model = XGAN(gradient_reversal_ramp_steps=10)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    for step, expected in ((0, 0.0), (5, 2 / (1 + np.exp(-5.0)) - 1), (10, 2 / (1 + np.exp(-10.0)) - 1), (30, 0.99991)):
        model.g_optimizer.iterations.assign(step)
        np.testing.assert_allclose(float(model.gradient_reversal_ramp()), expected, rtol=1e-4)
    assert XGAN().gradient_reversal_ramp() == 1.0
    with pytest.raises(ValueError, match="gradient_reversal_ramp_steps"):
        XGAN(gradient_reversal_ramp_steps=-1)


def test_warmup_trains_the_auto_encoders_alone_then_ramps_the_other_terms_in(batch):
    faces, cartoons = batch
    model = XGAN(reconstruction_weight=2.0, warmup_steps=10)
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    for step, expected in ((0, 0.0), (10, 0.0), (15, 0.5), (20, 1.0), (50, 1.0)):
        model.g_optimizer.iterations.assign(step)
        assert float(model.warmup()) == pytest.approx(expected)
    model.g_optimizer.iterations.assign(15)
    result = model.generator_losses(faces, cartoons)
    others = result["domain_confusion_loss"] + result["semantic_loss"] + result["gan_loss"]
    np.testing.assert_allclose(result["Generator_loss"], 2.0 * result["autoencoder_loss"] + 0.5 * others, rtol=1e-5)
    assert XGAN().warmup() == 1.0
    with pytest.raises(ValueError, match="warmup_steps"):
        XGAN(warmup_steps=-1)


def test_the_ramp_scales_only_the_encoders_share_of_the_dann_gradient(batch):
    """At the ramp's start the encoders get no L_dann gradient; c_dann itself still learns."""
    faces, cartoons = batch
    model = XGAN(
        reconstruction_weight=0.0,
        semantic_weight=0.0,
        adversarial_weight=0.0,
        gradient_reversal_ramp_steps=100,
        domain_objective="reversal",
    )
    model.compile(g_optimizer=adam(), d_optimizer=adam())
    with tf.GradientTape() as tape:
        loss = model.generator_losses(faces, cartoons, training=True)["Generator_loss"]
    encoder_variables = model.shared_encoder.trainable_variables
    classifier_variables = model.domain_classifier.trainable_variables
    gradients = tape.gradient(loss, encoder_variables + classifier_variables)
    assert all(not np.any(g) for g in gradients[: len(encoder_variables)])
    assert all(np.any(g) for g in gradients[len(encoder_variables) :])


@pytest.mark.parametrize("objective, sign", [("confusion", 1.0), ("reversal", -1.0)])
def test_the_encoders_descend_l_conf_and_ascend_l_dann(objective, sign):
    """d/de of the encoders' domain term: +∇L_conf under confusion, -∇L_dann under reversal (λ = 1, no ramp)."""
    model = XGAN(domain_objective=objective)
    embeddings = {
        domain: tf.constant(np.random.default_rng(i).normal(size=(3, 1024)), tf.float32)
        for i, domain in enumerate(("face", "cartoon"))
    }
    loss_fn = losses.domain_confusion_loss if objective == "confusion" else losses.domain_adversarial_loss
    head = model.domain_classifier.layers[2:]  # c_dann without its input and gradient-reversal layers
    assert isinstance(model.domain_classifier.layers[1], networks.GradientReversal)

    def plain_logits(x):
        for layer in head:
            x = layer(x)
        return x

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(embeddings.values()))
        term = loss_fn(*(model._domain_logits(embeddings[d], training=False) for d in ("face", "cartoon")))
        reference = loss_fn(*(plain_logits(embeddings[d]) for d in ("face", "cartoon")))
    for domain in ("face", "cartoon"):
        np.testing.assert_allclose(
            tape.gradient(term, embeddings[domain]),
            sign * tape.gradient(reference, embeddings[domain]),
            rtol=1e-5,
            atol=1e-8,
        )
