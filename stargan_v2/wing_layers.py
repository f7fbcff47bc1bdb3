"""The two layers of the FAN landmark network (`stargan_v2.wing`) that Keras lacks, NHWC.

`AddCoords` is the official `AddCoordsTh` (core/wing.py, from AdaptiveWingLoss) as it runs in StarGAN v2;
`FrozenBatchNormalization` is a BatchNorm that always normalises with its moving statistics, as the
official FAN does after `.eval()`.
"""

from __future__ import annotations

import keras
import numpy as np

TORCH_BATCH_NORM_EPSILON = 1e-5


def coordinate_channels(height: int, width: int, with_r: bool) -> np.ndarray:
    """The CoordConv channels of an (height, width) map, (height, width, 2 or 3) float32.

    The official `AddCoordsTh.__init__`: `x_coords = arange(height)` along the rows and `y_coords =
    arange(width)` along the columns, each `(c / (size - 1)) * 2 - 1` (-1 .. 1); with_r adds
    `rr = sqrt(x_coords**2 + y_coords**2)`, divided by its maximum (its corners, sqrt 2). Channel order
    x (row), y (column), r, as the official concatenation. Computed in float32 as torch does.
    """
    rows = np.arange(height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    columns = np.ones((height, 1), np.float32) * np.arange(width, dtype=np.float32)[None, :]
    rows = (rows / np.float32(height - 1)) * np.float32(2) - np.float32(1)
    columns = (columns / np.float32(width - 1)) * np.float32(2) - np.float32(1)
    channels = [rows, columns]
    if with_r:
        radius = np.sqrt(rows**2 + columns**2)
        channels.append(radius / radius.max())
    return np.stack(channels, axis=-1).astype(np.float32)


@keras.saving.register_keras_serializable(package="stargan_v2")
class AddCoords(keras.layers.Layer):
    """Appends the coordinate channels of `coordinate_channels` to a (N, H, W, C) map: (N, H, W, C + 2 [+ 1]).

    The official `AddCoordsTh.forward` is `cat([x, coords], dim=1)`, plus two boundary channels when
    `with_boundary and heatmap is not None`. StarGAN v2's FAN has one module and calls its hourglass with
    `tmp_out = None`, so no boundary channel is ever added; this layer has none. The official fixes
    height and width at construction (256 for conv1, 64 for the hourglass): they are the sizes of the
    maps it meets, which this layer reads from its input's static shape.
    """

    def __init__(self, with_r: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.with_r = bool(with_r)

    def call(self, inputs):
        _, height, width, _ = inputs.shape
        coordinates = keras.ops.convert_to_tensor(coordinate_channels(height, width, self.with_r), inputs.dtype)
        coordinates = keras.ops.broadcast_to(
            coordinates[None], (keras.ops.shape(inputs)[0], height, width, coordinates.shape[-1])
        )
        return keras.ops.concatenate([inputs, coordinates], axis=-1)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height, width, channels + (3 if self.with_r else 2))

    def get_config(self):
        return {**super().get_config(), "with_r": self.with_r}


@keras.saving.register_keras_serializable(package="stargan_v2")
class FrozenBatchNormalization(keras.layers.BatchNormalization):
    """BatchNorm (torch's eps 1e-5) that normalises with its moving mean and variance whatever `training` says.

    The official builds the FAN as `FAN(...).eval()` and never trains it, so every BatchNorm2d uses its
    running statistics: `(x - running_mean) / sqrt(running_var + eps) * weight + bias`.
    """

    def __init__(self, epsilon: float = TORCH_BATCH_NORM_EPSILON, **kwargs):
        super().__init__(epsilon=epsilon, **kwargs)

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=False, mask=mask)
