"""single_gan.networks: the layer tables, the depth the widths set, float32 outputs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from single_gan import networks

TINY_GENERATOR = (8, 4)


@pytest.fixture(scope="module")
def generator():
    return networks.build_generator()


@pytest.fixture(scope="module")
def discriminator():
    return networks.build_discriminator()


@pytest.mark.parametrize(
    "layer, shape",
    [
        ("dense", (16384,)),
        ("reshape", (8, 8, 256)),
        ("deconv1", (8, 8, 128)),
        ("deconv2", (16, 16, 64)),
        ("deconv3", (32, 32, 32)),
        ("output", (64, 64, 3)),
    ],
)
def test_generator_layer_table(generator, layer, shape):
    assert generator.get_layer(layer).output.shape == (None, *shape)


@pytest.mark.parametrize(
    "layer, shape",
    [
        ("conv1", (32, 32, 64)),
        ("conv2", (16, 16, 128)),
        ("conv3", (8, 8, 256)),
        ("logit", (1,)),
    ],
)
def test_discriminator_layer_table(discriminator, layer, shape):
    assert discriminator.get_layer(layer).output.shape == (None, *shape)


def test_both_players_are_sequential_models(generator, discriminator):
    assert isinstance(generator, keras.Sequential) and isinstance(discriminator, keras.Sequential)
    assert generator.input_shape == (None, 100)


def test_generator_draws_64x64_rgb_images_in_the_tanh_range():
    generator = networks.build_generator(noise_dim=7, filters=TINY_GENERATOR)
    noise = np.random.default_rng(0).normal(0, 10, (3, 7)).astype("float32")  # large: saturates the tanh
    images = keras.ops.convert_to_numpy(generator(noise))
    assert images.shape == (3, 64, 64, 3) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0 and images.std() > 0


@pytest.mark.parametrize("filters", [(8, 4), (8, 4, 4), (4,) * 7], ids=len)
def test_the_number_of_widths_sets_the_depth(filters):
    generator = networks.build_generator(filters=filters)
    deconvolutions = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(deconvolutions) == len(filters)  # deconv1 .. deconv(n-1) and the output
    assert generator.get_layer("reshape").output.shape[1] == 64 // 2 ** (len(filters) - 1)
    assert generator.output_shape == (None, 64, 64, 3)


@pytest.mark.parametrize("filters", [(8,), (4,) * 8], ids=len)
def test_widths_that_cannot_reach_64_pixels_are_rejected(filters):
    with pytest.raises(ValueError, match="generator"):
        networks.build_generator(filters=filters)


def test_the_discriminator_has_one_stride_2_convolution_per_width():
    discriminator = networks.build_discriminator(filters=(4, 4, 4, 4, 4))
    assert discriminator.get_layer("conv5").output.shape == (None, 2, 2, 4)
    assert discriminator.output_shape == (None, 1)


def test_outputs_stay_float32_under_mixed_float16():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        generator = networks.build_generator(filters=TINY_GENERATOR)
        discriminator = networks.build_discriminator(filters=(4,))
    finally:
        keras.config.set_dtype_policy("float32")
    assert generator.get_layer("deconv1").compute_dtype == "float16"
    images = generator(np.zeros((2, 100), "float32"))
    assert keras.backend.standardize_dtype(images.dtype) == "float32"
    assert keras.backend.standardize_dtype(discriminator(images).dtype) == "float32"
