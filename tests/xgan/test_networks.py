"""xgan.networks: the layer tables, what is shared between domains, gradient reversal."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from xgan import networks


@pytest.fixture(scope="module")
def nets() -> dict[str, keras.Model]:
    return {
        "face_encoder": networks.build_private_encoder("face"),
        "cartoon_encoder": networks.build_private_encoder("cartoon"),
        "shared_encoder": networks.build_shared_encoder(),
        "shared_decoder": networks.build_shared_decoder(),
        "face_decoder": networks.build_private_decoder("face"),
        "cartoon_decoder": networks.build_private_decoder("cartoon"),
        "face_discriminator": networks.build_discriminator("face"),
        "cartoon_discriminator": networks.build_discriminator("cartoon"),
        "domain_classifier": networks.build_domain_classifier(),
    }


def ids(variables) -> set[int]:
    return {id(variable) for variable in variables}


# (network, layer, output shape without the batch axis): the report's / paper's tables.
LAYER_TABLE = [
    *[(f"{domain}_encoder", f"{domain}_encoder_conv1", (32, 32, 32)) for domain in networks.DOMAINS],
    *[(f"{domain}_encoder", f"{domain}_encoder_conv2", (16, 16, 64)) for domain in networks.DOMAINS],
    ("shared_encoder", "shared_encoder_conv3", (8, 8, 128)),
    ("shared_encoder", "shared_encoder_conv4", (4, 4, 256)),
    ("shared_encoder", "shared_encoder_fc1", (1024,)),
    ("shared_encoder", "shared_encoder_fc2", (1024,)),
    ("shared_decoder", "shared_decoder_deconv1_reshape", (4, 4, 512)),
    ("shared_decoder", "shared_decoder_deconv2", (8, 8, 256)),
    *[(f"{domain}_decoder", f"{domain}_decoder_deconv3", (16, 16, 128)) for domain in networks.DOMAINS],
    *[(f"{domain}_decoder", f"{domain}_decoder_deconv4", (32, 32, 64)) for domain in networks.DOMAINS],
    *[(f"{domain}_decoder", f"{domain}_decoder_deconv5", (64, 64, 3)) for domain in networks.DOMAINS],
    *[
        row
        for domain in networks.DOMAINS
        for row in [
            (f"{domain}_discriminator", f"{domain}_discriminator_conv1", (32, 32, 16)),
            (f"{domain}_discriminator", f"{domain}_discriminator_conv2", (16, 16, 32)),
            (f"{domain}_discriminator", f"{domain}_discriminator_conv3", (8, 8, 32)),
            (f"{domain}_discriminator", f"{domain}_discriminator_conv4", (4, 4, 32)),
            (f"{domain}_discriminator", f"{domain}_discriminator_fc", (1,)),
        ]
    ],
    ("domain_classifier", "domain_classifier_fc1", (256,)),
    ("domain_classifier", "domain_classifier_fc2", (64,)),
    ("domain_classifier", "domain_classifier_fc3", (1,)),
]


@pytest.mark.parametrize("network, layer, shape", LAYER_TABLE, ids=[row[1] for row in LAYER_TABLE])
def test_layer_output_shape_matches_the_table(nets, network, layer, shape):
    assert tuple(nets[network].get_layer(layer).output.shape[1:]) == shape


# (network, input shape, output shape, output dtype) of a real forward pass on a batch of 2.
FORWARD = [
    ("face_encoder", (64, 64, 3), (16, 16, 64), None),
    ("shared_encoder", (16, 16, 64), (1024,), None),
    ("shared_decoder", (1024,), (8, 8, 256), None),
    ("cartoon_decoder", (8, 8, 256), (64, 64, 3), "float32"),
    ("cartoon_discriminator", (64, 64, 3), (1,), "float32"),
    ("domain_classifier", (1024,), (1,), "float32"),
]


@pytest.mark.parametrize("network, input_shape, output_shape, dtype", FORWARD, ids=[row[0] for row in FORWARD])
def test_forward_pass(nets, network, input_shape, output_shape, dtype):
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, *input_shape)).astype(np.float32)
    outputs = nets[network](inputs)
    assert tuple(outputs.shape) == (2, *output_shape)
    if dtype:
        assert keras.backend.standardize_dtype(outputs.dtype) == dtype
    assert np.all(np.isfinite(outputs))


def test_decoder_output_is_a_tanh_image(nets):
    features = np.random.default_rng(0).normal(0, 50, (2, 8, 8, 256)).astype(np.float32)
    images = keras.ops.convert_to_numpy(nets["face_decoder"](features))
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.min() < -0.5 and images.max() > 0.5  # large inputs saturate: the range is used


def test_encoders_share_exactly_the_shared_half(nets):
    face = networks.build_encoder(nets["face_encoder"], nets["shared_encoder"], "face")
    cartoon = networks.build_encoder(nets["cartoon_encoder"], nets["shared_encoder"], "cartoon")
    face_vars, cartoon_vars = ids(face.trainable_variables), ids(cartoon.trainable_variables)

    assert face_vars & cartoon_vars == ids(nets["shared_encoder"].trainable_variables)
    assert face_vars - cartoon_vars == ids(nets["face_encoder"].trainable_variables)
    assert cartoon_vars - face_vars == ids(nets["cartoon_encoder"].trainable_variables)
    shared_paths = {variable.path for variable in nets["shared_encoder"].trainable_variables}
    assert {"shared_encoder_conv3/kernel", "shared_encoder_fc2/kernel"} <= shared_paths


def test_decoders_share_exactly_the_shared_head(nets):
    face = networks.build_decoder(nets["shared_decoder"], nets["face_decoder"], "face")
    cartoon = networks.build_decoder(nets["shared_decoder"], nets["cartoon_decoder"], "cartoon")
    face_vars, cartoon_vars = ids(face.trainable_variables), ids(cartoon.trainable_variables)

    assert face_vars & cartoon_vars == ids(nets["shared_decoder"].trainable_variables)
    assert face_vars - cartoon_vars == ids(nets["face_decoder"].trainable_variables)
    assert cartoon_vars - face_vars == ids(nets["cartoon_decoder"].trainable_variables)


def test_translator_is_source_encoder_then_target_decoder(nets):
    translator = networks.build_translator(
        nets["face_encoder"], nets["shared_encoder"], nets["shared_decoder"], nets["cartoon_decoder"], "face", "cartoon"
    )
    assert translator.name == "face2cartoon"
    expected = [nets[name] for name in ("face_encoder", "shared_encoder", "shared_decoder", "cartoon_decoder")]
    assert ids(translator.trainable_variables) == set().union(*(ids(n.trainable_variables) for n in expected))

    faces = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    step_by_step = faces
    for network in expected:
        step_by_step = network(step_by_step)
    np.testing.assert_allclose(translator(faces), step_by_step, rtol=1e-5, atol=1e-6)


def test_private_networks_are_distinct_per_domain(nets):
    for kind in ("encoder", "decoder", "discriminator"):
        assert not ids(nets[f"face_{kind}"].trainable_variables) & ids(nets[f"cartoon_{kind}"].trainable_variables)


def test_unknown_domain_is_rejected():
    with pytest.raises(ValueError, match="domain must be one of"):
        networks.build_private_encoder("photo")


def _reversal_forward_and_gradient(layer, x, upstream):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * upstream)  # dloss/dy = upstream
    return y, tape.gradient(loss, x)


@pytest.mark.parametrize("mode", ["eager", "tf.function", "xla"])
@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_gradient_reversal_is_identity_forward_and_minus_scale_backward(scale, mode):
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 1024)), tf.float32)
    upstream = tf.constant(rng.normal(size=(3, 1024)), tf.float32)
    layer = networks.GradientReversal(scale)
    run = {
        "eager": _reversal_forward_and_gradient,
        "tf.function": tf.function(_reversal_forward_and_gradient),
        "xla": tf.function(_reversal_forward_and_gradient, jit_compile=True),
    }[mode]

    y, gradient = run(layer, x, upstream)

    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(gradient, -scale * upstream.numpy())  # powers of two: exact


def test_gradient_reversal_config_round_trip():
    layer = networks.GradientReversal(0.3, name="reversal")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, networks.GradientReversal)
    assert (restored.scale, restored.name) == (0.3, "reversal")


def test_domain_classifier_reverses_the_gradient_into_the_embedding():
    """d logit / d embedding through c_dann = -λ × the same derivative without the reversal layer."""
    scale = 0.5
    classifier = networks.build_domain_classifier(gradient_reversal_scale=scale)
    embedding = tf.constant(np.random.default_rng(0).normal(size=(4, 1024)), tf.float32)
    without_reversal = [classifier.get_layer(f"domain_classifier_fc{index}") for index in (1, 2, 3)]

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(embedding)
        logits = classifier(embedding)
        plain_logits = embedding
        for layer in without_reversal:
            plain_logits = layer(plain_logits)
    np.testing.assert_allclose(logits, plain_logits, rtol=1e-6)
    np.testing.assert_allclose(
        tape.gradient(logits, embedding), -scale * tape.gradient(plain_logits, embedding), rtol=1e-6
    )


def test_domain_classifier_outputs_a_logit_that_depends_on_the_embedding():
    """The report's 1-unit softmax head outputs 1.0 whatever its input; this head must not."""
    classifier = networks.build_domain_classifier()
    logits = keras.ops.convert_to_numpy(classifier(np.random.default_rng(0).normal(size=(8, 1024)).astype("float32")))
    assert logits.shape == (8, 1)
    assert np.ptp(logits) > 1e-3


def test_embeddings_lie_on_the_sphere_of_radius_sqrt_1024(nets):
    """Bounded embeddings: gradient reversal cannot inflate them, whatever the input's scale."""
    features = np.random.default_rng(0).normal(0, 1, (3, 16, 16, 64)).astype(np.float32)
    for scale in (1e-3, 1.0, 1e3):
        embedding = keras.ops.convert_to_numpy(nets["shared_encoder"](features * scale))
        np.testing.assert_allclose(np.linalg.norm(embedding, axis=-1), 32.0, rtol=1e-4)


@pytest.mark.parametrize("scale", [0.5, -2.0])
def test_scale_gradient_is_identity_forward_and_scales_the_gradient(scale):
    x = tf.constant(np.random.default_rng(1).normal(size=(2, 8)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = networks.scale_gradient(x, tf.constant(scale))
        loss = tf.reduce_sum(3.0 * y)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(tape.gradient(loss, x), np.full((2, 8), 3.0 * scale, np.float32))


# Weights (kernel + bias) of the private decoder's deconv3, deconv4, deconv5: 4x4 transposed or 3x3 after a resize.
def decoder_weights(kernel_area: int) -> int:
    return sum(kernel_area * inputs * outputs + outputs for inputs, outputs in [(256, 128), (128, 64), (64, 3)])


@pytest.mark.parametrize("upsampling, kernel_area", [("transposed", 16), ("resize_conv", 9)])
def test_the_decoders_upsampling_kinds_keep_the_shapes_and_count_their_kernels(upsampling, kernel_area):
    decoder = networks.build_private_decoder("face", upsampling)
    shared = networks.build_shared_decoder(upsampling)
    assert decoder.count_params() == decoder_weights(kernel_area)
    assert shared.count_params() == 1024 * 4 * 4 * 512 + 4 * 4 * 512 + kernel_area * 512 * 256 + 256
    images = decoder(shared(np.zeros((2, 1024), np.float32)))
    assert images.shape == (2, 64, 64, 3)
    has_transposed = any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in decoder.layers)
    assert has_transposed == (upsampling == "transposed")


def test_resize_convolutions_turn_a_flat_map_into_a_flat_image():
    """A constant input gives a constant interior after resize-convolutions; a 4x4 stride-2 transposed
    convolution of random weights need not (its two output phases use different kernel taps)."""
    keras.utils.set_random_seed(0)
    flat = np.ones((1, 8, 8, 256), np.float32)
    for upsampling in networks.UPSAMPLING_KINDS:
        images = np.asarray(networks.build_private_decoder("face", upsampling)(flat))[0, 8:-8, 8:-8]
        spread = images.std(axis=(0, 1)).max()
        if upsampling == "resize_conv":
            assert spread < 1e-5
        else:
            assert spread > 1e-3


def test_an_unknown_upsampling_kind_is_rejected():
    with pytest.raises(ValueError, match="upsampling must be one of"):
        networks.build_private_decoder("face", "bilinear")


def test_a_spectrally_normalised_discriminator_divides_every_kernel_by_its_largest_singular_value():
    keras.utils.set_random_seed(0)  # the power iteration's pace depends on the drawn kernels
    discriminator = networks.build_discriminator("face", spectral_norm=True)
    plain = networks.build_discriminator("face")
    assert discriminator.count_params() - plain.count_params() == 16 + 32 + 32 + 32 + 1  # one u vector per kernel
    assert discriminator.output.dtype == "float32"
    images = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 3)).astype(np.float32)
    for _ in range(100):  # each training call takes one power iteration towards the largest singular value
        discriminator(images, training=True)
    wrappers = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrappers) == 5
    for wrapper in wrappers:
        kernel = np.asarray(wrapper.layer.kernel)
        assert np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), ord=2) == pytest.approx(1.0, rel=0.01)
