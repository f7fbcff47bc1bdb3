"""StarGAN v2's building blocks as the official code defines them (clovaai/stargan-v2, core/model.py), pure Keras.

Channels-last. Every 3x3 convolution pads by 1 ("same"), every 1x1 by 0; the activation is LeakyReLU(0.2)
throughout. Weights start as core/utils.py `he_init`: kaiming normal (fan in, the ReLU gain √2), zero biases.
Each block keeps the official sub-module names (conv1, conv2, norm1, norm2, conv1x1, fc) as attributes, which
is what `stargan_v2.convert` fills from a PyTorch state dict.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from training.layers import INSTANCE_NORM_EPSILON, instance_normalize

LEAKY_RELU_SLOPE = 0.2
# core/model.py HighPass: a Laplacian-like kernel that keeps edges (the identity minus the 3x3 mean, times 9).
HIGH_PASS_KERNEL = np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]], dtype=np.float32)


def he_normal() -> keras.initializers.Initializer:
    """`nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='relu')`: N(0, 2 / fan_in), not truncated.

    A fresh instance per layer, so that unseeded layers draw different weights.
    """
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_in", distribution="untruncated_normal")


def conv(filters: int, kernel_size: int, use_bias: bool = True, padding: str = "same", dtype=None, name=None):
    """`nn.Conv2d(in, filters, kernel_size, 1, kernel_size // 2)` with he_init."""
    return layers.Conv2D(
        filters,
        kernel_size,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=he_normal(),
        bias_initializer="zeros",
        dtype=dtype,
        name=name,
    )


def dense(units: int, activation=None, name=None) -> layers.Dense:
    """`nn.Linear(in, units)` with he_init (and the ReLU that follows it in the official Sequential)."""
    return layers.Dense(
        units, activation=activation, kernel_initializer=he_normal(), bias_initializer="zeros", name=name
    )


def leaky_relu(x):
    return ops.leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE)


def average_pool_2(x):
    """`F.avg_pool2d(x, 2)`."""
    return ops.average_pool(x, pool_size=2, strides=2, padding="valid")


def nearest_upsample_2(x):
    """`F.interpolate(x, scale_factor=2, mode='nearest')`: every pixel repeated into a 2x2 square."""
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


@keras.saving.register_keras_serializable(package="stargan_v2")
class InstanceNorm(layers.Layer):
    """`nn.InstanceNorm2d(C, affine)`: (x - mean) / sqrt(var + 1e-5) per sample and channel over height and width,
    the biased variance, then `weight * x + bias` (here gamma, beta: ones and zeros at first) when affine.

    The statistics are taken in float32 whatever the compute dtype, and the tape keeps only x and them
    (`training.layers.instance_normalize`).
    """

    def __init__(self, affine: bool = False, epsilon: float = INSTANCE_NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.affine = bool(affine)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        if self.affine:
            channels = input_shape[-1]
            self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
            self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")

    def call(self, x):
        normalized = instance_normalize(ops.cast(x, self.compute_dtype), self.epsilon)
        if self.affine:
            normalized = normalized * ops.cast(self.gamma, self.compute_dtype) + ops.cast(self.beta, self.compute_dtype)
        return normalized

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "affine": self.affine, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="stargan_v2")
class AdaIN(layers.Layer):
    """Adaptive instance normalisation: `h = fc(s); gamma, beta = chunk(h, 2); (1 + gamma) * IN(x) + beta`.

    `fc` is a Linear from the style to 2·C (the first C outputs are gamma, the last C beta); IN has no affine
    parameters of its own.
    """

    def __init__(self, num_features: int, **kwargs):
        super().__init__(**kwargs)
        self.num_features = int(num_features)
        self.norm = InstanceNorm(affine=False, name="norm")
        self.fc = dense(2 * self.num_features, name="fc")

    def build(self, x_shape, style_shape):
        self.norm.build(x_shape)
        self.fc.build(style_shape)

    def call(self, x, style):
        h = self.fc(style)
        gamma = h[:, None, None, : self.num_features]
        beta = h[:, None, None, self.num_features :]
        return (1.0 + gamma) * self.norm(x) + beta

    def compute_output_shape(self, x_shape, style_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features}


@keras.saving.register_keras_serializable(package="stargan_v2")
class HighPass(layers.Layer):
    """core/model.py `HighPass`: each channel convolved (zero padding 1) with the fixed kernel
    [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]] / w_hpf. No trainable weights (the official keeps it as a buffer).
    """

    def __init__(self, w_hpf: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if w_hpf <= 0:
            raise ValueError(f"HighPass needs w_hpf > 0, got {w_hpf}")
        self.w_hpf = w_hpf

    def call(self, x):
        channels = x.shape[-1]
        kernel = ops.convert_to_tensor(HIGH_PASS_KERNEL / self.w_hpf, dtype=x.dtype)
        kernel = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))  # (3, 3, C, 1): one filter per channel
        return ops.depthwise_conv(x, kernel, strides=1, padding="same")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "w_hpf": self.w_hpf}


@keras.saving.register_keras_serializable(package="stargan_v2")
class HighPassSkip(layers.Layer):
    """The generator's skip connection at 32, 64 and 128 px when w_hpf > 0 (core/model.py `Generator.forward`):

        mask = F.interpolate(masks[mask_index], size=x.size(2), mode='bilinear')
        x = x + hpf(mask * cache[x.size(2)])

    `cache` is the encoder's feature map at this size and `masks` the (N, S, S, 2) landmark masks; the
    resizing is half-pixel bilinear without antialiasing, as PyTorch's (align_corners=False).
    """

    def __init__(self, w_hpf: float = 1.0, mask_index: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.w_hpf = w_hpf
        self.mask_index = int(mask_index)
        self.hpf = HighPass(w_hpf, name="hpf")

    def build(self, x_shape, cached_shape, masks_shape):
        self.hpf.build(cached_shape)

    def call(self, x, cached, masks):
        size = x.shape[1:3]
        mask = masks[..., self.mask_index : self.mask_index + 1]
        mask = ops.image.resize(ops.cast(mask, x.dtype), size, interpolation="bilinear", antialias=False)
        return x + self.hpf(mask * cached)

    def compute_output_shape(self, x_shape, cached_shape, masks_shape):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "w_hpf": self.w_hpf, "mask_index": self.mask_index}


@keras.saving.register_keras_serializable(package="stargan_v2")
class ResBlk(layers.Layer):
    """core/model.py `ResBlk`: `(shortcut(x) + residual(x)) / √2` ("unit variance").

    residual: [norm1] → LReLU → conv1 (3x3, dim_in → dim_in) → [avg-pool 2] → [norm2] → LReLU → conv2
    (3x3, dim_in → dim_out); norms are affine instance norms when `normalize`.
    shortcut: [conv1x1 (dim_in → dim_out, no bias) when the widths differ] → [avg-pool 2].
    `rematerialize`: keep only the block's input for the backward pass and run its forward pass again there
    (`keras.remat`), instead of keeping its maps; the same outputs and gradients. Differentiable once.
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        normalize: bool = False,
        downsample: bool = False,
        rematerialize: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dim_in = int(dim_in)
        self.dim_out = int(dim_out)
        self.normalize = bool(normalize)
        self.downsample = bool(downsample)
        self.rematerialize = bool(rematerialize)
        self.learned_shortcut = self.dim_in != self.dim_out
        self.conv1 = conv(self.dim_in, 3, name="conv1")
        self.conv2 = conv(self.dim_out, 3, name="conv2")
        if self.normalize:
            self.norm1 = InstanceNorm(affine=True, name="norm1")
            self.norm2 = InstanceNorm(affine=True, name="norm2")
        if self.learned_shortcut:
            self.conv1x1 = conv(self.dim_out, 1, use_bias=False, name="conv1x1")

    def build(self, input_shape):
        batch, height, width, _ = input_shape
        inner_shape = (batch, height, width, self.dim_in)
        if self.downsample:
            inner_shape = (batch, _halved(height), _halved(width), self.dim_in)
        self.conv1.build(input_shape)
        self.conv2.build(inner_shape)
        if self.normalize:
            self.norm1.build(input_shape)
            self.norm2.build(inner_shape)
        if self.learned_shortcut:
            self.conv1x1.build(input_shape)

    def _shortcut(self, x):
        if self.learned_shortcut:
            x = self.conv1x1(x)
        if self.downsample:
            x = average_pool_2(x)
        return x

    def _residual(self, x):
        if self.normalize:
            x = self.norm1(x)
        x = self.conv1(leaky_relu(x))
        if self.downsample:
            x = average_pool_2(x)
        if self.normalize:
            x = self.norm2(x)
        return self.conv2(leaky_relu(x))

    def call(self, x):
        return _rematerialized(self._forward, self.rematerialize)(x)

    def _forward(self, x):
        return (self._shortcut(x) + self._residual(x)) / math.sqrt(2.0)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        if self.downsample:
            height, width = _halved(height), _halved(width)
        return (batch, height, width, self.dim_out)

    def get_config(self):
        return {
            **super().get_config(),
            "dim_in": self.dim_in,
            "dim_out": self.dim_out,
            "normalize": self.normalize,
            "downsample": self.downsample,
            "rematerialize": self.rematerialize,
        }


@keras.saving.register_keras_serializable(package="stargan_v2")
class AdainResBlk(layers.Layer):
    """core/model.py `AdainResBlk`, the generator's decoder block, styled by `s`.

    residual: norm1 = AdaIN(s) → LReLU → [nearest upsample 2] → conv1 (3x3, dim_in → dim_out) → norm2 = AdaIN(s)
    → LReLU → conv2 (3x3, dim_out → dim_out).
    shortcut: [nearest upsample 2] → [conv1x1 (no bias) when the widths differ].
    Output `(residual + shortcut) / √2` when w_hpf == 0; when w_hpf > 0 the official returns the residual alone
    (the high-pass skips of the generator carry the identity), and the conv1x1, still a parameter, goes unused.
    `rematerialize`: as `ResBlk`'s (the block keeps x and s, and recomputes the rest in the backward pass).
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        w_hpf: float = 0,
        upsample: bool = False,
        rematerialize: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.dim_in = int(dim_in)
        self.dim_out = int(dim_out)
        self.w_hpf = w_hpf
        self.upsample = bool(upsample)
        self.rematerialize = bool(rematerialize)
        self.learned_shortcut = self.dim_in != self.dim_out
        self.conv1 = conv(self.dim_out, 3, name="conv1")
        self.conv2 = conv(self.dim_out, 3, name="conv2")
        self.norm1 = AdaIN(self.dim_in, name="norm1")
        self.norm2 = AdaIN(self.dim_out, name="norm2")
        if self.learned_shortcut:
            self.conv1x1 = conv(self.dim_out, 1, use_bias=False, name="conv1x1")

    def build(self, x_shape, style_shape):
        batch, height, width, _ = x_shape
        if self.upsample:
            height, width = _doubled(height), _doubled(width)
        self.norm1.build(x_shape, style_shape)
        self.conv1.build((batch, height, width, self.dim_in))
        self.norm2.build((batch, height, width, self.dim_out), style_shape)
        self.conv2.build((batch, height, width, self.dim_out))
        if self.learned_shortcut:
            self.conv1x1.build((batch, height, width, self.dim_in))

    def _shortcut(self, x):
        if self.upsample:
            x = nearest_upsample_2(x)
        if self.learned_shortcut:
            x = self.conv1x1(x)
        return x

    def _residual(self, x, style):
        x = leaky_relu(self.norm1(x, style))
        if self.upsample:
            x = nearest_upsample_2(x)
        x = self.conv1(x)
        x = leaky_relu(self.norm2(x, style))
        return self.conv2(x)

    def call(self, x, style):
        return _rematerialized(self._forward, self.rematerialize)(x, style)

    def _forward(self, x, style):
        out = self._residual(x, style)
        if self.w_hpf == 0:
            out = (out + self._shortcut(x)) / math.sqrt(2.0)
        return out

    def compute_output_shape(self, x_shape, style_shape):
        batch, height, width, _ = x_shape
        if self.upsample:
            height, width = _doubled(height), _doubled(width)
        return (batch, height, width, self.dim_out)

    def get_config(self):
        return {
            **super().get_config(),
            "dim_in": self.dim_in,
            "dim_out": self.dim_out,
            "w_hpf": self.w_hpf,
            "upsample": self.upsample,
            "rematerialize": self.rematerialize,
        }


@keras.saving.register_keras_serializable(package="stargan_v2")
class SelectDomain(layers.Layer):
    """The official `out[idx, y]`: from per-domain outputs, each sample's row for its own domain y.

    `per_domain` is a list of K tensors (N, D), stacked on axis 1 as `torch.stack(out, dim=1)`, or a tensor
    (N, K); `domains` (N,) integer. Output (N, D) or (N,).
    """

    def call(self, per_domain, domains):
        if isinstance(per_domain, (list, tuple)):
            per_domain = ops.stack(per_domain, axis=1)
        index = ops.cast(domains, "int32")
        index = ops.reshape(index, (-1,) + (1,) * (len(per_domain.shape) - 1))
        return ops.squeeze(ops.take_along_axis(per_domain, index, axis=1), axis=1)

    def compute_output_shape(self, per_domain_shape, domains_shape):
        if isinstance(per_domain_shape[0], (list, tuple)):
            return tuple(per_domain_shape[0])
        return tuple(per_domain_shape[:1]) + tuple(per_domain_shape[2:])


def _rematerialized(forward, rematerialize: bool):
    """`forward`, or `keras.remat(forward)`: its maps recomputed in the backward pass rather than kept."""
    return keras.remat(forward) if rematerialize else forward


def _halved(size: int | None) -> int | None:
    return None if size is None else size // 2


def _doubled(size: int | None) -> int | None:
    return None if size is None else size * 2
