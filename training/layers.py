"""Layers and initialisers the translation networks share (CycleGAN's and U-GAT-IT's), pure Keras."""

from __future__ import annotations

import keras
from keras import layers

INSTANCE_NORM_EPSILON = 1e-5
INITIAL_WEIGHT_STDDEV = 0.02


@keras.saving.register_keras_serializable(package="training")
class ReflectionPadding2D(layers.Layer):
    """Pads height and width by `padding` pixels on each side, mirroring the image without repeating its edge.

    [a b c d] padded by 2 gives [c b a b c d c b], as PyTorch's `ReflectionPad2d`
    and NumPy's `np.pad(mode="reflect")`. Needs `padding` < height and width.
    """

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        p = self.padding
        return keras.ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, self._padded(height), self._padded(width), channels)

    def _padded(self, size: int | None) -> int | None:
        return None if size is None else size + 2 * self.padding

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="training")
class RematerializedSequence(layers.Layer):
    """`stage_layers` applied in order, the maps between them recomputed in the backward pass (`keras.remat`)
    instead of kept for it: the stage keeps its input and its output, and runs its forward pass once more when
    the gradient is taken. Worth it where memory is the limit and the maps are large: a generator's
    full-resolution pad/conv/norm/activation stages. `rematerialize=False` applies the same layers, keeping
    every map (the same weights and outputs, no recomputation)."""

    def __init__(self, stage_layers, rematerialize: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.stage_layers = list(stage_layers)
        self.rematerialize = rematerialize

    def build(self, input_shape):
        for layer in self.stage_layers:
            if not layer.built:  # a loaded model's layers come built from their configs
                layer.build(input_shape)
            input_shape = layer.compute_output_shape(input_shape)

    def call(self, inputs):
        if self.rematerialize:
            return keras.remat(self._apply_in_order)(inputs)
        return self._apply_in_order(inputs)

    def _apply_in_order(self, x):
        for layer in self.stage_layers:
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        for layer in self.stage_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "stage_layers": [keras.saving.serialize_keras_object(layer) for layer in self.stage_layers],
            "rematerialize": self.rematerialize,
        }

    @classmethod
    def from_config(cls, config):
        stage_layers = [keras.saving.deserialize_keras_object(layer) for layer in config.pop("stage_layers")]
        return cls(stage_layers, **config)


def instance_normalization(name: str) -> layers.Layer:
    """Per-sample, per-channel normalisation over height and width, without learned scale or offset.

    PyTorch's `InstanceNorm2d` at its defaults (`affine=False`, eps 1e-5, the
    biased variance): `GroupNormalization` with one group per channel.
    """
    return layers.GroupNormalization(groups=-1, center=False, scale=False, epsilon=INSTANCE_NORM_EPSILON, name=name)


def spectral_normalization(layer: layers.Layer, name: str, dtype=None) -> layers.Layer:
    """`layer` wrapped in Keras's SpectralNormalization, which writes W/σ back to the float32 kernel at every
    training call: without autocast, so a mixed-precision policy does not round the kernel to 16 bits."""
    return layers.SpectralNormalization(layer, autocast=False, name=name, dtype=dtype)


def weight_initializer() -> keras.initializers.Initializer:
    """N(0, 0.02), a fresh instance per layer (an unseeded instance reused would repeat its draws)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=INITIAL_WEIGHT_STDDEV)


def instance_normalize(x, epsilon: float = INSTANCE_NORM_EPSILON):
    """(x - μ) / sqrt(σ² + ε) per sample and channel over height and width (NHWC), σ² the biased variance, as
    `nn.InstanceNorm2d` without affine parameters; in x's dtype, with the statistics taken in float32.

    Its gradient is written out rather than recorded,

        ∂L/∂x = (g - mean(g) - x̂ · mean(g · x̂)) / sqrt(σ² + ε),   g = ∂L/∂y, x̂ = the output in float32,

    so that a tape keeps only x and the per-channel statistics: autodiff would keep float32 copies of x
    and of the centred x, four times a bfloat16 x's size, for every norm of a network. Differentiable
    once (enough for a generator's loss; an R1 penalty differentiates a discriminator twice, and a
    discriminator with norms would need autodiff).
    """

    @keras.ops.custom_gradient
    def normalize(x):
        x32 = keras.ops.cast(x, "float32")
        mean, variance = keras.ops.moments(x32, axes=[1, 2], keepdims=True)
        inverse_std = keras.ops.rsqrt(variance + epsilon)
        output = keras.ops.cast((x32 - mean) * inverse_std, x.dtype)

        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            g = keras.ops.cast(upstream, "float32")
            normalized = (keras.ops.cast(x, "float32") - mean) * inverse_std
            g_mean = keras.ops.mean(g, axis=[1, 2], keepdims=True)
            g_normalized_mean = keras.ops.mean(g * normalized, axis=[1, 2], keepdims=True)
            return keras.ops.cast((g - g_mean - normalized * g_normalized_mean) * inverse_std, x.dtype)

        return output, gradient

    return normalize(x)
