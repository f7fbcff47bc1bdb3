"""From FAN landmark heatmaps to StarGAN v2's two face masks: the official `FAN.get_heatmap` and `preprocess`.

NHWC: heatmaps are (N, H, W, 98), one channel per landmark of the 98-point WFLW layout (chin 0..32,
eyebrows 33..50, nose 51..54, nostrils 55..59, eyes 60..75, lips 76..95, pupils 96, 97).
"""

from __future__ import annotations

import keras
import numpy as np

HEATMAP_IMAGE_SIZE = 256

# The official `preprocess` per landmark group, channels [first, end): (first, end, row shift, power), a shift
# in units of `sw = H // 256` pixels and positive upwards (its `shift(x, N)`), the power its `resize(x, p)`.
# Channels its `zero_out` clears (0..7 and 25..32 of the chin, the eyebrow edges 33 and 46, the lip edges
# 76 and 82) are left out: they add nothing to either mask.
# Face line, eyebrows and mouth: in the first mask only (the second-level mask clears 8:25, 33:51, 76:96).
OUTER_FACE_PARTS = (
    (8, 25, 0, 3),  # chin: OPPAIR(0, 3)
    (34, 46, -7, 2),  # eyebrows: OPPAIR(-7*sw, 2)
    (47, 51, -7, 2),
    (77, 82, -8, 4),  # lipupper: OPPAIR(-8*sw, 4)
    (83, 88, 8, 4),  # liplower: OPPAIR(8*sw, 4)
    (88, 96, -2, 3),  # lipinner: OPPAIR(-2*sw, 3)
)
# Nose, nostrils and pupils: in both masks.
INNER_FACE_PARTS = (
    (51, 52, 0, 1),  # the nose's first landmark: resize(x, 1)
    (52, 55, 4, 1),  # the nose's others: shift(x[:, start+1:end], 4*sw)
    (55, 60, 8, 4),  # nostrils: OPPAIR(8*sw, 4)
    (96, 98, 0, 1),  # pupils: untouched
)
# Eyes, in both masks: `resize(shift(x, -8), 3) + shift(x, -24)`, shifts in pixels (not scaled by sw).
EYES = (60, 76)
EYE_SHIFT, EYE_POWER, EYE_SECOND_SHIFT = -8, 3, -24


def resize_align_corners(images, size: int):
    """Bilinear resize of (N, H, W, C) to (N, size, size, C) with torch's `align_corners=True`.

    Output pixel o samples the input at `o * (in - 1) / (size - 1)` (first and last pixels on the input's),
    interpolating its two neighbours, rows then columns: torch's upsample_bilinear2d, in float32 as torch
    computes the source positions. TF's resize has no such mode (its half-pixel mode is align_corners=False).
    """
    for axis in (1, 2):
        lower, upper, upper_weight = _align_corners_sources(images.shape[axis], size)
        upper_weight = keras.ops.convert_to_tensor(upper_weight.reshape([-1 if a == axis else 1 for a in range(4)]))
        lower_values = keras.ops.take(images, lower, axis=axis)
        upper_values = keras.ops.take(images, upper, axis=axis)
        images = (1 - upper_weight) * lower_values + upper_weight * upper_values
    return images


def _align_corners_sources(input_size: int, output_size: int):
    scale = np.float32((input_size - 1) / (output_size - 1)) if output_size > 1 else np.float32(0)
    source = np.arange(output_size, dtype=np.float32) * scale
    lower = np.minimum(np.floor(source).astype(np.int32), input_size - 1)
    upper = np.minimum(lower + 1, input_size - 1)
    return lower, upper, np.clip(source - lower, 0, 1).astype(np.float32)


def landmark_heatmaps(fan: keras.Model, images):
    """The official `get_heatmap` before `preprocess`: images (N, S, S, 3) in [-1, 1] -> (N, 256, 256, 98).

    `F.interpolate(x, size=256, mode='bilinear')` (align_corners=False: TF's half-pixel bilinear resize
    without antialiasing), `x * 0.5 + 0.5`, the FAN, the last (boundary) channel dropped, then
    `F.interpolate(heatmaps, scale_factor=256 // 64, mode='bilinear', align_corners=True)`. The official
    runs in float32, as this does from the FAN's output on.
    """
    resized = keras.ops.image.resize(images, (HEATMAP_IMAGE_SIZE, HEATMAP_IMAGE_SIZE), interpolation="bilinear")
    # float32 whatever the FAN's dtype policy: `normalize`'s epsilon 1e-6 is zero in float16.
    heatmaps = keras.ops.cast(fan(resized * 0.5 + 0.5, training=False)[..., :-1], "float32")
    scale_factor = HEATMAP_IMAGE_SIZE // heatmaps.shape[1]
    return resize_align_corners(heatmaps, heatmaps.shape[1] * scale_factor)


def truncate(heatmaps, threshold: float = 0.1):
    """The official `truncate`: values below `threshold` set to 0."""
    return keras.ops.where(heatmaps < threshold, keras.ops.zeros_like(heatmaps), heatmaps)


def normalize(heatmaps, epsilon: float = 1e-6):
    """The official `normalize`: each image's channel min-max normalised, `(x - min) / (max - min + eps)`."""
    maximum = keras.ops.max(heatmaps, axis=(1, 2), keepdims=True)
    minimum = keras.ops.min(heatmaps, axis=(1, 2), keepdims=True)
    return (heatmaps - minimum) / (maximum - minimum + epsilon)


def shift_rows(heatmaps, pixels: int):
    """The official `shift(x, N)`: the rows rotated `pixels` up (down when negative), wrapping around."""
    return keras.ops.roll(heatmaps, -pixels, axis=1)


def sharpen(heatmaps, power: int):
    """The official `resize(x, p)`, which is `x ** p` (on [0, 1] heatmaps, a narrower peak)."""
    return keras.ops.power(heatmaps, power)


def preprocess(heatmaps):
    """The official `preprocess`: (N, H, W, 98) heatmaps -> the two (N, H, W) masks in [0, 1] (x and x2).

    Truncate at 0.1, normalise each channel, shift each part's heatmaps and raise them to a power (see the
    part tables), sum the channels; the second-level mask sums only nose, nostrils, eyes and pupils. The
    official then zeroes NaNs in the first mask only: its `x2[x != x] = 0` tests the first mask, already
    cleared, so a NaN in the second mask stays, here as there. Both clamped to [0, 1].
    """
    heatmaps = normalize(truncate(heatmaps))
    sw = heatmaps.shape[1] // HEATMAP_IMAGE_SIZE
    first, end = EYES
    eyes = heatmaps[..., first:end]
    eyes = sharpen(shift_rows(eyes, EYE_SHIFT), EYE_POWER) + shift_rows(eyes, EYE_SECOND_SHIFT)
    inner_face = keras.ops.sum(eyes, axis=-1) + _parts_sum(heatmaps, INNER_FACE_PARTS, sw)
    whole_face = inner_face + _parts_sum(heatmaps, OUTER_FACE_PARTS, sw)
    whole_face = keras.ops.where(keras.ops.isnan(whole_face), keras.ops.zeros_like(whole_face), whole_face)
    return keras.ops.clip(whole_face, 0, 1), keras.ops.clip(inner_face, 0, 1)


def _parts_sum(heatmaps, parts, sw: int):
    sums = [
        keras.ops.sum(sharpen(shift_rows(heatmaps[..., first:end], shift * sw), power), axis=-1)
        for first, end, shift, power in parts
    ]
    return sum(sums[1:], sums[0])
