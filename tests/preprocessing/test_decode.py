import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from preprocessing.decode import decode_rgb, to_rgb


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "pixel, expected",
    [
        ([200], [200, 200, 200]),  # grayscale
        ([100, 0], [255, 255, 255]),  # grayscale, fully transparent -> white
        ([100, 255], [100, 100, 100]),  # grayscale, opaque
        ([10, 20, 30], [10, 20, 30]),  # RGB
        ([10, 20, 30, 0], [255, 255, 255]),  # RGBA, transparent -> white
        ([10, 20, 30, 255], [10, 20, 30]),  # RGBA, opaque
    ],
)
def test_to_rgb_composites_alpha_onto_white(pixel, expected):
    image = tf.constant(np.full((2, 3, len(pixel)), pixel, np.uint8))
    np.testing.assert_array_equal(to_rgb(image).numpy(), np.full((2, 3, 3), expected, np.uint8))


def test_to_rgb_half_transparent_blends_with_white():
    rgba = np.zeros((1, 1, 4), np.uint8)
    rgba[..., 3] = 128
    expected = np.round(255 * (1 - 128 / 255))
    np.testing.assert_array_equal(to_rgb(tf.constant(rgba)).numpy(), np.full((1, 1, 3), expected))


def test_decode_rgb_handles_palette_and_rgba_pngs():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (5, 7, 3), dtype=np.uint8)
    palette = Image.fromarray(rgb).convert("P")
    np.testing.assert_array_equal(decode_rgb(_png_bytes(palette)).numpy(), np.asarray(palette.convert("RGB")))
    rgba = np.concatenate([rgb, np.full((5, 7, 1), 255, np.uint8)], axis=-1)
    np.testing.assert_array_equal(decode_rgb(_png_bytes(Image.fromarray(rgba))).numpy(), rgb)


def test_decode_rgb_rejects_truncated_png():
    data = _png_bytes(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode_rgb(data[: len(data) // 2])
