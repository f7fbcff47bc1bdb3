"""cyclegan.networks: the reference's layer tables and parameter counts, its padding semantics.

The shared layers (reflection padding, instance normalisation) are tested in tests/training/test_layers.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cyclegan import networks

SMALL = 32  # px: big enough for every padding, small enough to run fast


@pytest.fixture(scope="module")
def generator_256() -> keras.Model:
    return networks.resnet_generator(256)


@pytest.fixture(scope="module")
def discriminator_256() -> keras.Model:
    return networks.patchgan_discriminator(256)


@pytest.fixture
def mixed_float16():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy(previous)


def random_images(size: int = SMALL, n: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32)


def output_shape(model: keras.Model, layer: str) -> tuple:
    return tuple(model.get_layer(layer).output.shape[1:])


def test_resnet9_generator_has_the_reference_parameter_count(generator_256):
    assert generator_256.count_params() == 11_378_179


def test_resnet6_generator_has_the_reference_parameter_count():
    assert networks.resnet_generator(256, residual_blocks=6).count_params() == 7_837_699


def test_patchgan_has_the_reference_parameter_count(discriminator_256):
    assert discriminator_256.count_params() == 2_764_737


GENERATOR_TABLE = [
    ("generator_stem_conv", (256, 256, 64)),
    ("generator_down1_conv", (128, 128, 128)),
    ("generator_down2_conv", (64, 64, 256)),
    *[(f"generator_block{index}_add", (64, 64, 256)) for index in range(1, 10)],
    ("generator_up1_deconv", (129, 129, 128)),  # the full transposed convolution, 2H+1 ...
    ("generator_up1_crop", (128, 128, 128)),  # ... without its first row and column
    ("generator_up2_crop", (256, 256, 64)),
    ("generator_head_conv", (256, 256, 3)),
    ("generator_tanh", (256, 256, 3)),
]


@pytest.mark.parametrize("layer, shape", GENERATOR_TABLE, ids=[row[0] for row in GENERATOR_TABLE])
def test_generator_layer_output_shape_at_256_px(generator_256, layer, shape):
    assert output_shape(generator_256, layer) == shape


DISCRIMINATOR_TABLE = [
    ("discriminator_conv1", (128, 128, 64)),
    ("discriminator_conv2", (64, 64, 128)),
    ("discriminator_conv3", (32, 32, 256)),
    ("discriminator_conv4", (31, 31, 512)),
    ("discriminator_logits", (30, 30, 1)),
]


@pytest.mark.parametrize("layer, shape", DISCRIMINATOR_TABLE, ids=[row[0] for row in DISCRIMINATOR_TABLE])
def test_discriminator_layer_output_shape_at_256_px(discriminator_256, layer, shape):
    assert output_shape(discriminator_256, layer) == shape


def test_discriminator_outputs_14x14_logits_at_128_px():
    assert tuple(networks.patchgan_discriminator(128).output.shape[1:]) == (14, 14, 1)


def test_networks_without_image_size_take_any_size():
    generator = networks.resnet_generator(None, residual_blocks=1, filters=8)
    discriminator = networks.patchgan_discriminator(None, filters=8)
    assert tuple(generator.input.shape[1:]) == (None, None, 3)
    assert tuple(generator(random_images(SMALL, n=1)).shape) == (1, SMALL, SMALL, 3)
    assert tuple(generator(random_images(48, n=1)).shape) == (1, 48, 48, 3)
    assert tuple(discriminator(random_images(SMALL, n=1)).shape) == (1, 2, 2, 1)


def test_generator_output_is_an_image_in_minus_one_one():
    generator = networks.resnet_generator(SMALL, residual_blocks=2, filters=8)
    images = keras.ops.convert_to_numpy(generator(100.0 * random_images()))
    assert images.shape == (2, SMALL, SMALL, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_initial_weights_are_normal_002_and_biases_zero(generator_256):
    kernel = keras.ops.convert_to_numpy(generator_256.get_layer("generator_block1_conv1").kernel)
    assert abs(kernel.mean()) < 1e-3
    assert kernel.std() == pytest.approx(0.02, rel=0.01)
    for layer in ("generator_block1_conv1", "generator_up1_deconv", "generator_head_conv"):
        assert not np.any(keras.ops.convert_to_numpy(generator_256.get_layer(layer).bias))


def test_no_two_layers_share_initial_weights(generator_256):
    first = keras.ops.convert_to_numpy(generator_256.get_layer("generator_block1_conv1").kernel)
    second = keras.ops.convert_to_numpy(generator_256.get_layer("generator_block2_conv1").kernel)
    assert not np.array_equal(first, second)


def pytorch_transposed_conv(x, kernel, stride=2, padding=1, output_padding=1):
    """ConvTranspose2d on one NHWC image, (kh, kw, out, in) kernel: out[s·i + k - padding] += x[i] · w[k]."""
    height, width, _ = x.shape
    k = kernel.shape[0]
    full = np.zeros(((height - 1) * stride + k, (width - 1) * stride + k, kernel.shape[2]))
    for i in range(height):
        for j in range(width):
            full[i * stride : i * stride + k, j * stride : j * stride + k] += np.einsum("hwoc,c->hwo", kernel, x[i, j])
    out_height = (height - 1) * stride - 2 * padding + k + output_padding
    out_width = (width - 1) * stride - 2 * padding + k + output_padding
    return full[padding : padding + out_height, padding : padding + out_width]


def test_upsampling_samples_the_positions_of_pytorch_padding_1_output_padding_1():
    rng = np.random.default_rng(2)
    generator = networks.resnet_generator(12, residual_blocks=0, filters=2)  # up1: 3x3x8 -> 6x6x4
    deconv = generator.get_layer("generator_up1_deconv")
    up1 = keras.Model(deconv.input, generator.get_layer("generator_up1_crop").output)
    kernel = rng.normal(size=tuple(deconv.kernel.shape)).astype(np.float32)
    deconv.kernel.assign(kernel)
    features = rng.normal(size=(1, *deconv.input.shape[1:])).astype(np.float32)

    upsampled = keras.ops.convert_to_numpy(up1(features))[0]

    expected = pytorch_transposed_conv(features[0], kernel)
    assert upsampled.shape == expected.shape == (6, 6, 4)
    np.testing.assert_allclose(upsampled, expected, rtol=1e-5, atol=1e-5)


def test_strided_convolutions_pad_as_pytorch_padding_1():
    """All-ones kernel on an all-ones image: an output counts the image pixels its 3x3 window sees.

    PyTorch's padding=1 puts the stride-2 windows at rows -1..1, 1..3, ..., 29..31 of a 32 px image: only the first
    row and column see padding. (Keras's "same" would pad after instead, only the last row and column.)
    """
    generator = networks.resnet_generator(SMALL, residual_blocks=0, filters=4)
    down1 = keras.Model(
        generator.get_layer("generator_down1_pad").input, generator.get_layer("generator_down1_conv").output
    )
    down1.get_layer("generator_down1_conv").kernel.assign(np.ones((3, 3, 4, 8), np.float32))

    outputs = keras.ops.convert_to_numpy(down1(np.ones((1, SMALL, SMALL, 4), np.float32)))[0, ..., 0]

    channels = 4
    assert outputs.shape == (SMALL // 2, SMALL // 2)
    assert outputs[0, 0] == 2 * 2 * channels
    assert outputs[0, -1] == outputs[-1, 0] == 2 * 3 * channels
    assert outputs[-1, -1] == outputs[1, 1] == 3 * 3 * channels


@pytest.mark.parametrize(
    "build",
    [
        lambda: networks.resnet_generator(SMALL, residual_blocks=2, filters=8),
        lambda: networks.patchgan_discriminator(SMALL, filters=8),
    ],
    ids=["generator", "discriminator"],
)
def test_keras_file_round_trip_gives_identical_outputs(tmp_path, build):
    network = build()
    images = random_images()
    path = tmp_path / f"{network.name}.keras"
    network.save(path)

    restored = keras.saving.load_model(path)

    np.testing.assert_array_equal(restored(images), network(images))


@pytest.mark.parametrize(
    "build, hidden_layer",
    [
        (lambda: networks.resnet_generator(SMALL, residual_blocks=1, filters=8), "generator_block1_conv1"),
        (lambda: networks.patchgan_discriminator(SMALL, filters=8), "discriminator_conv2"),
    ],
    ids=["generator", "discriminator"],
)
def test_mixed_float16_networks_output_float32(mixed_float16, build, hidden_layer):
    network = build()
    outputs = network(random_images())
    assert network.get_layer(hidden_layer).compute_dtype == "float16"
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(outputs)))


def test_resize_conv_upsampling_keeps_the_reference_parameter_count_and_the_size():
    generator = networks.resnet_generator(128, residual_blocks=6, upsampling="resize_conv")
    assert generator.count_params() == 7_837_699
    assert generator.get_layer("generator_up2_conv").output.shape == (None, 128, 128, 64)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in generator.layers)


@pytest.mark.parametrize(("upsampling", "last_layer"), [("transposed", "up_crop"), ("resize_conv", "up_conv")])
def test_only_the_transposed_convolution_draws_a_checkerboard_on_a_flat_map(upsampling, last_layer):
    """A constant map up-sampled: the transposed convolution's kernel overlaps unevenly (stride 2, size 3), so
    its output alternates between rows and columns; the resize-convolution's is flat away from the border."""
    inputs = keras.Input((6, 6, 4))
    outputs = networks._upsample(inputs, 4, "up", upsampling)
    model = keras.Model(inputs, outputs)
    pre_norm = keras.Model(inputs, model.get_layer(last_layer).output)
    for weight in pre_norm.trainable_weights:
        if len(weight.shape) == 4:
            weight.assign(np.abs(np.asarray(weight)) + 0.1)  # positive kernels: no cancellation hides the pattern
    interior = np.asarray(pre_norm(np.ones((1, 6, 6, 4), "float32")))[0, 2:-2, 2:-2]
    spread = interior.std(axis=(0, 1)).max()
    if upsampling == "transposed":
        assert spread > 0.1 * np.abs(interior).mean()
    else:
        assert spread < 1e-6 * np.abs(interior).mean()


def test_a_spectrally_normalised_patchgan_divides_every_kernel_by_its_largest_singular_value():
    keras.utils.set_random_seed(0)  # the power iteration's pace depends on the drawn kernels: the same draw each run
    discriminator = networks.patchgan_discriminator(SMALL, filters=8, spectral_norm=True)
    plain = networks.patchgan_discriminator(SMALL, filters=8)
    assert discriminator.count_params() - plain.count_params() == 8 + 16 + 32 + 64 + 1  # one u vector per kernel
    for _ in range(100):  # each training call takes one power iteration towards the largest singular value
        discriminator(random_images(), training=True)
    wrappers = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrappers) == 5
    for wrapper in wrappers:
        kernel = np.asarray(wrapper.layer.kernel)
        assert np.linalg.norm(kernel.reshape(-1, kernel.shape[-1]), ord=2) == pytest.approx(1.0, rel=0.01)
