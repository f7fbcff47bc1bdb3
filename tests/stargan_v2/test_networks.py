"""stargan_v2.networks and layers: the official parameter counts, shapes, domain heads, He init, round trips.

The official counts come from clovaai/stargan-v2 core/model.py `build_model` at 256 px, 2 domains, style 64,
latent 16 (max_conv_dim 512).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stargan_v2 import layers as sg_layers
from stargan_v2 import networks

SMALL = 32
SMALL_WIDTH = 32
STYLE_DIM = 64
LATENT_DIM = 16

OFFICIAL_COUNTS_256 = {
    ("generator", 0): 33_892_995,
    ("generator", 1): 43_467_395,
    ("mapping_network", 0): 2_438_272,
    ("style_encoder", 0): 20_916_928,
    ("discriminator", 0): 20_852_290,
}


def build(kind: str, image_size: int, num_domains=2, style_dim=STYLE_DIM, latent_dim=LATENT_DIM, width=512, w_hpf=0):
    if kind == "generator":
        return networks.build_generator(image_size, style_dim, width, w_hpf)
    if kind == "mapping_network":
        return networks.build_mapping_network(latent_dim, style_dim, num_domains)
    if kind == "style_encoder":
        return networks.build_style_encoder(image_size, style_dim, num_domains, width)
    return networks.build_discriminator(image_size, num_domains, width)


def random_images(n=2, size=SMALL, seed=0, channels=3):
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


def random_vectors(n, dim, seed=1):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize(("kind", "w_hpf"), list(OFFICIAL_COUNTS_256))
def test_official_parameter_counts_at_256(kind, w_hpf):
    expected = OFFICIAL_COUNTS_256[(kind, w_hpf)]
    assert build(kind, 256, w_hpf=w_hpf).count_params() == expected
    assert networks.parameter_counts(256, 2, STYLE_DIM, LATENT_DIM, 512, w_hpf)[kind] == expected


@pytest.mark.parametrize(
    ("image_size", "num_domains", "style_dim", "latent_dim", "width", "w_hpf"),
    [(32, 3, 16, 8, 32, 0), (32, 2, 64, 16, 32, 1), (64, 4, 32, 16, 128, 1), (128, 1, 8, 4, 64, 0)],
)
def test_parameter_counts_match_the_built_networks(image_size, num_domains, style_dim, latent_dim, width, w_hpf):
    counts = networks.parameter_counts(image_size, num_domains, style_dim, latent_dim, width, w_hpf)
    settings = dict(num_domains=num_domains, style_dim=style_dim, latent_dim=latent_dim, width=width, w_hpf=w_hpf)
    built = {kind: build(kind, image_size, **settings).count_params() for kind in counts}
    assert built == counts


def test_first_conv_dim_sets_the_first_width_and_the_counts_follow():
    encoder, _ = networks.generator_plan(64, 64, w_hpf=0, first_conv_dim=16)
    assert encoder == [(16, 32, True), (32, 64, True), (64, 64, False), (64, 64, False)]
    assert networks.trunk_plan(64, 64, first_conv_dim=16) == [(16, 32), (32, 64), (64, 64), (64, 64)]
    counts = networks.parameter_counts(64, 2, 16, 8, 64, 0, first_conv_dim=16)
    built = {
        "generator": networks.build_generator(64, 16, 64, 0, first_conv_dim=16),
        "mapping_network": networks.build_mapping_network(8, 16, 2),
        "style_encoder": networks.build_style_encoder(64, 16, 2, 64, first_conv_dim=16),
        "discriminator": networks.build_discriminator(64, 2, 64, first_conv_dim=16),
    }
    assert {name: model.count_params() for name, model in built.items()} == counts
    assert built["generator"].get_layer("from_rgb").filters == 16
    # 0 is the official rule, 2**14 // image_size.
    assert networks.generator_plan(64, 512, w_hpf=0, first_conv_dim=0)[0][0] == (256, 512, True)


def test_generator_plan_follows_the_official_widths():
    encoder, decoder = networks.generator_plan(256, 512, w_hpf=0)
    assert encoder == [(64, 128, True), (128, 256, True), (256, 512, True), (512, 512, True)] + [(512, 512, False)] * 2
    assert decoder == [(512, 512, False)] * 2 + [(512, 512, True), (512, 256, True), (256, 128, True), (128, 64, True)]
    assert len(networks.generator_plan(256, 512, w_hpf=1)[0]) == 7
    with pytest.raises(ValueError, match="power of two"):
        networks.generator_plan(100, 512, 0)


@pytest.mark.parametrize("w_hpf", [0, 1])
def test_output_shapes_at_32_px(w_hpf):
    images, styles = random_images(), random_vectors(2, STYLE_DIM)
    domains = np.array([0, 1], np.int32)
    generator = networks.build_generator(SMALL, STYLE_DIM, SMALL_WIDTH, w_hpf)
    generator_inputs = [images, styles] + ([random_images(channels=2, seed=3) * 0.5 + 0.5] if w_hpf else [])
    assert len(generator.inputs) == len(generator_inputs)
    assert tuple(generator(generator_inputs).shape) == (2, SMALL, SMALL, 3)
    mapping = networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 2)
    assert tuple(mapping([random_vectors(2, LATENT_DIM), domains]).shape) == (2, STYLE_DIM)
    encoder = networks.build_style_encoder(SMALL, STYLE_DIM, 2, SMALL_WIDTH)
    assert tuple(encoder([images, domains]).shape) == (2, STYLE_DIM)
    discriminator = networks.build_discriminator(SMALL, 2, SMALL_WIDTH)
    assert tuple(discriminator([images, domains]).shape) == (2,)


def _head_outputs(model: keras.Model, layer_names: list[str], inputs) -> list[np.ndarray]:
    heads = keras.Model(model.inputs, [model.get_layer(name).output for name in layer_names])
    outputs = heads(inputs)
    return [np.asarray(out) for out in (outputs if len(layer_names) > 1 else [outputs])]


def test_each_sample_gets_its_own_domains_head():
    domains = np.array([1, 0, 2], np.int32)
    latents = random_vectors(3, LATENT_DIM)
    mapping = networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 3)
    heads = _head_outputs(mapping, [f"unshared_{k}_3" for k in range(3)], [latents, domains])
    styles = np.asarray(mapping([latents, domains]))
    for row, domain in enumerate(domains):
        np.testing.assert_array_equal(styles[row], heads[domain][row])
    assert not np.allclose(heads[0], heads[1])

    images = random_images(3)
    encoder = networks.build_style_encoder(SMALL, STYLE_DIM, 3, SMALL_WIDTH)
    heads = _head_outputs(encoder, [f"unshared_{k}" for k in range(3)], [images, domains])
    styles = np.asarray(encoder([images, domains]))
    for row, domain in enumerate(domains):
        np.testing.assert_array_equal(styles[row], heads[domain][row])

    discriminator = networks.build_discriminator(SMALL, 3, SMALL_WIDTH)
    (all_logits,) = _head_outputs(discriminator, ["logits"], [images, domains])
    logits = np.asarray(discriminator([images, domains]))
    np.testing.assert_array_equal(logits, all_logits[np.arange(3), 0, 0, domains])


def test_he_initialisation():
    generator = networks.build_generator(SMALL, STYLE_DIM, SMALL_WIDTH, w_hpf=0)
    block = generator.get_layer("encode_0")  # conv1: 3x3, 512 -> 512 at 32 px: 2.4M draws
    kernel = np.asarray(block.conv1.kernel)
    expected_std = np.sqrt(2.0 / (3 * 3 * 512))
    assert abs(kernel.mean()) < 0.01 * expected_std
    assert kernel.std() == pytest.approx(expected_std, rel=0.01)
    assert np.abs(kernel).max() > 4 * expected_std  # a plain normal, not truncated at 2 std as HeNormal
    np.testing.assert_array_equal(np.asarray(block.conv1.bias), 0.0)
    np.testing.assert_array_equal(np.asarray(block.norm1.gamma), 1.0)
    np.testing.assert_array_equal(np.asarray(block.norm1.beta), 0.0)
    adain_fc = generator.get_layer("decode_0").norm1.fc
    assert np.asarray(adain_fc.kernel).std() == pytest.approx(np.sqrt(2.0 / STYLE_DIM), rel=0.05)
    np.testing.assert_array_equal(np.asarray(adain_fc.bias), 0.0)
    mapping = networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 2)
    dense_kernel = np.asarray(mapping.get_layer("shared_1").kernel)
    assert dense_kernel.std() == pytest.approx(np.sqrt(2.0 / 512), rel=0.02)


def test_instance_norm_and_adain_against_numpy():
    x = random_images(2, 8, channels=5) * 3 + 1
    gamma = np.linspace(0.5, 1.5, 5).astype(np.float32)
    beta = np.linspace(-1, 1, 5).astype(np.float32)
    mean, var = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    normalized = (x - mean) / np.sqrt(var + 1e-5)

    norm = sg_layers.InstanceNorm(affine=True)
    norm.build(x.shape)
    norm.set_weights([gamma, beta])
    np.testing.assert_allclose(norm(x), normalized * gamma + beta, atol=1e-5)

    style = random_vectors(2, 4)
    adain = sg_layers.AdaIN(5)
    out = np.asarray(adain(x, style))
    kernel, bias = adain.fc.get_weights()
    h = style @ kernel + bias
    expected = (1 + h[:, None, None, :5]) * normalized + h[:, None, None, 5:]
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_high_pass_is_the_official_kernel_over_w_hpf():
    x = random_images(1, 6, channels=2)
    out = np.asarray(sg_layers.HighPass(w_hpf=2.0)(x))
    padded = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)])
    window_sums = sum(padded[:, i : i + 6, j : j + 6] for i in range(3) for j in range(3))
    np.testing.assert_allclose(out, (9 * x - window_sums) / 2.0, atol=1e-5)


def test_adain_block_with_high_pass_drops_its_shortcut():
    x, style = random_images(2, 8, channels=4), random_vectors(2, 6)
    plain = sg_layers.AdainResBlk(4, 8, w_hpf=0, upsample=True)
    high_pass = sg_layers.AdainResBlk(4, 8, w_hpf=1, upsample=True)
    plain(x, style)
    high_pass(x, style)
    high_pass.set_weights(plain.get_weights())
    shortcut = np.asarray(plain.conv1x1(np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)))
    np.testing.assert_allclose(plain(x, style), (np.asarray(high_pass(x, style)) + shortcut) / np.sqrt(2), atol=1e-5)


def test_keras_files_load_with_identical_outputs(tmp_path):
    images, domains = random_images(), np.array([1, 0], np.int32)
    masks = random_images(channels=2, seed=5) * 0.5 + 0.5
    cases = {
        "generator": (
            networks.build_generator(SMALL, STYLE_DIM, SMALL_WIDTH, w_hpf=1),
            [images, random_vectors(2, 64), masks],
        ),
        "mapping_network": (networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 2), [random_vectors(2, 16), domains]),
        "style_encoder": (networks.build_style_encoder(SMALL, STYLE_DIM, 2, SMALL_WIDTH), [images, domains]),
        "discriminator": (networks.build_discriminator(SMALL, 2, SMALL_WIDTH), [images, domains]),
    }
    for name, (model, inputs) in cases.items():
        path = tmp_path / f"{name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(np.asarray(loaded(inputs)), np.asarray(model(inputs)), err_msg=name)


def _generator_gradients_and_convolutions(generator, inputs):
    """The gradients of a loss on G's output for its weights, and the Conv2D ops of that traced computation."""
    import tensorflow as tf

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(generator(inputs, training=True)))
        return tape.gradient(loss, generator.trainable_variables)

    graph_def = gradients.get_concrete_function().graph.as_graph_def()
    nodes = [*graph_def.node, *(node for function in graph_def.library.function for node in function.node_def)]
    return [np.asarray(value) for value in gradients()], sum(node.op == "Conv2D" for node in nodes)


def test_generator_blocks_at_the_rematerialize_size_recompute_their_maps_with_the_same_gradients():
    # Seeded weights: on some draws an instance norm of a nearly flat channel amplifies float32 round-off
    # (the recomputed forward pass sums in another order) to 1.5e-5 of the gradients' scale in a few elements.
    keras.utils.set_random_seed(0)
    inputs = [random_images(), random_vectors(2, STYLE_DIM)]
    plain = networks.build_generator(SMALL, STYLE_DIM, SMALL_WIDTH)
    recomputing = networks.build_generator(SMALL, STYLE_DIM, SMALL_WIDTH, rematerialize_size=SMALL)
    recomputing.set_weights(plain.get_weights())
    flags = {layer.name: layer.rematerialize for layer in recomputing.layers if hasattr(layer, "rematerialize")}
    # At 32 px: encode_0 goes 32 -> 16 px and decode_2 16 -> 32 px; the bottleneck blocks stay at 16 px.
    assert flags == {f"encode_{i}": i == 0 for i in range(3)} | {f"decode_{i}": i == 2 for i in range(3)}
    assert not any(layer.rematerialize for layer in plain.layers if hasattr(layer, "rematerialize"))
    np.testing.assert_allclose(recomputing(inputs), plain(inputs), rtol=1e-5, atol=1e-5)
    (got, convolutions), (expected, plain_convolutions) = (
        _generator_gradients_and_convolutions(model, inputs) for model in (recomputing, plain)
    )
    # Float32 round-off at the gradients' scale (a bias before an instance norm has a zero gradient, up to noise).
    scale = max(np.abs(reference).max() for reference in expected)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-4, atol=1e-5 * scale)
    # Recomputed in the backward pass: encode_0's conv1, conv2 and conv1x1, decode_2's conv1, conv2 and conv1x1.
    assert convolutions == plain_convolutions + 6
