"""U-GAT-IT's generator and discriminators (Kim et al. 2020, arXiv 1907.10830, appendix B), pure Keras.

As the PyTorch reference builds them (znxlwm/UGATIT-pytorch, networks.py:
ResnetGenerator, Discriminator, adaILN, ILN), at its defaults (ngf = ndf = 64,
4 residual blocks). Output sizes at 256 px:

    Generator (ugatit_generator)                          Global discriminator (7 layers) | local (5 layers)
    stem     ReflPad3 Conv7 s1, IN, ReLU  256x256x64      conv1  ReflPad1 SN Conv4 s2   128x128x64  | same
    down1-2  ReflPad1 Conv3 s2, IN, ReLU  64x64x256       conv2-5 ... SN Conv4 s2       8x8x1024    | conv2-3 32x32x256
    block1-4 residual blocks (IN)         64x64x256       conv6  ReflPad1 SN Conv4 s1   7x7x2048    | conv4 31x31x512
    cam      CAM, Conv1x1 + ReLU          64x64x256       cam    CAM, Conv1x1 + LReLU   7x7x2048    | 31x31x512
    mlp      (GAP ->) Dense 256 x 2 -> gamma, beta (256)  logits ReflPad1 SN Conv4 s1   6x6x1       | 30x30x1
    adalin1-4 AdaLIN residual blocks      64x64x256
    up1-2    Upsample x2, ReflPad1 Conv3, ILN, ReLU  256x256x64
    head     ReflPad3 Conv7 s1, tanh      256x256x3

CAM is the class activation map of the paper's §2.1: the encoder's feature
maps x go through global average pooling and global max pooling; a Dense(1)
on each gives a logit (η_s(x), the auxiliary classifier's), and x weighted
channel by channel by that Dense's weights (a(x) = w ∘ x), once per pooling,
is concatenated, mixed by a 1x1 convolution and activated. The heatmap is
the channel sum of the result. The discriminators' convolutions and CAM
Dense layers carry spectral normalisation (Miyato et al. 2018); the
generator has none.

AdaLIN (eq. 1 of the paper) is

    AdaLIN(a, γ, β) = γ · (ρ · â_I + (1 - ρ) · â_L) + β,
    â_I = (a - μ_I) / sqrt(σ_I² + ε),  â_L = (a - μ_L) / sqrt(σ_L² + ε)

with instance statistics (per channel) μ_I, σ_I and layer statistics (per
image) μ_L, σ_L; ρ is learned, one per channel, starts at 0.9 and is clipped
to [0, 1] after every update (`training.constraints.ClipConstraint`, which
Keras applies after each optimizer step). γ and β come from the MLP, per
image. ILN is the same with learned γ (1) and β (0) per channel and ρ
starting at 0.

Where the reference implementations differ (taki0112/UGATIT in
TensorFlow, znxlwm/UGATIT-pytorch), this follows the PyTorch one, whose
parameter counts the tests pin:

- convolutions have no bias except the CAM's 1x1 convolutions and the
  discriminators' SN convolutions; instance normalisation has no affine
  parameters (TensorFlow: biases everywhere, affine IN);
- the CAM's GAP and GMP logits come from two Dense(1) without bias
  (TensorFlow: one shared Dense with bias);
- AdaLIN and ILN use the unbiased variance (`torch.var`), instance norm the
  biased one (`InstanceNorm2d`); ε = 1e-5;
- the full generator's MLP sees the 64x64x256 map flattened (268M weights);
  the light one sees its global average.

Two choices of this port: the discriminator's CAM weights a(x) with the
spectrally normalised Dense weights that gave its logits (PyTorch's code uses
the unnormalised `weight_orig`); and Keras's `SpectralNormalization`
normalises the kernel in place at every training call and does not
differentiate through σ (PyTorch divides by σ in the graph, with u and v held
constant). Weights are drawn from N(0, 0.02). The image, the logits and the CAM logits are computed
in float32, so a mixed-precision policy keeps them numerically safe.

For memory, not arithmetic: in full mode, whose memory is the limit, the
generator's stem, down, up and head stages recompute their padded, normalised
and activated maps (the largest a step holds) in the backward pass
(`RematerializedSequence`: 7% more FLOPs a step); light mode keeps them, as
recomputing them costs it a third of its speed for a tenth of its memory
(docs/experiments.md). AdaLIN and ILN recompute their statistics and
normalised maps in both modes, and the full MLP's first kernel is kept as row
blocks whose gradients Adam applies one at a time
(`ugatit.kernel_gradients`). Each stage's layers keep their names inside it
(`generator_up1` holds `generator_up1_conv`, say).
"""

from __future__ import annotations

import functools

import keras
from keras import layers, ops

from training.constraints import ClipConstraint
from training.layers import (
    ReflectionPadding2D,
    RematerializedSequence,
    instance_normalization,
    spectral_normalization,
    weight_initializer,
)
from ugatit.kernel_gradients import RecordedKernelDense

IMAGE_CHANNELS = 3
LEAKY_SLOPE = 0.2
NORM_EPSILON = 1e-5
ADALIN_RHO_START = 0.9
BASE_FILTERS = 64  # the reference's --ch: ngf = ndf
DOWNSAMPLINGS = 2  # the generator's encoder halves the image twice
RESIDUAL_BLOCKS = 4
GLOBAL_DISCRIMINATOR_LAYERS = 7
LOCAL_DISCRIMINATOR_LAYERS = 5
MLP_KERNEL_ROWS_PER_BLOCK = 65536  # the full-mode MLP kernel's 1,048,576 rows at 256 px: 16 blocks of 64 MB


def _unbiased_moments(x, axes):
    """(mean, unbiased variance) over `axes`, kept for broadcasting, in float32 (as `torch.var`'s default)."""
    x = ops.cast(x, "float32")
    count = 1
    for axis in axes:
        count *= x.shape[axis]
    mean = ops.mean(x, axis=axes, keepdims=True)
    variance = ops.sum(ops.square(x - mean), axis=axes, keepdims=True) / (count - 1)
    return mean, variance


def layer_instance_mix(x, rho, epsilon: float = NORM_EPSILON):
    """ρ · instance-normalised x + (1 - ρ) · layer-normalised x, for x [B, H, W, C] and ρ [C], in float32."""
    x32 = ops.cast(x, "float32")
    instance_mean, instance_variance = _unbiased_moments(x32, (1, 2))
    layer_mean, layer_variance = _unbiased_moments(x32, (1, 2, 3))
    instance_normalised = (x32 - instance_mean) / ops.sqrt(instance_variance + epsilon)
    layer_normalised = (x32 - layer_mean) / ops.sqrt(layer_variance + epsilon)
    rho = ops.cast(rho, "float32")
    return rho * instance_normalised + (1.0 - rho) * layer_normalised


def _scaled_layer_instance_mix(epsilon: float):
    """(x, ρ, γ, β) -> γ · layer_instance_mix(x, ρ) + β in float32 (γ and β broadcast to x), rematerialised.

    The statistics, the two normalised maps and their mix are recomputed in
    the backward pass instead of kept from the forward one: each is a float32
    map the size of x, and at 256 px the decoder's eight AdaLIN and two ILN
    layers would otherwise keep about 100 MB of them per image and pass.
    """

    def scaled_mix(x, rho, gamma, beta):
        return layer_instance_mix(x, rho, epsilon) * gamma + beta

    return keras.remat(scaled_mix)


def _rho_weight(layer: layers.Layer, channels: int, start: float):
    return layer.add_weight(
        shape=(channels,),
        initializer=keras.initializers.Constant(start),
        constraint=ClipConstraint(0.0, 1.0),
        name="rho",
    )


@keras.saving.register_keras_serializable(package="ugatit")
class AdaptiveLayerInstanceNormalization(layers.Layer):
    """AdaLIN: called on [x, gamma, beta], x [B, H, W, C], gamma and beta [B, C] (from the MLP); ρ [C] learned."""

    def __init__(self, epsilon: float = NORM_EPSILON, **kwargs):
        kwargs.setdefault("autocast", False)  # γ and β arrive in float32 and stay so; x is cast in `call`
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.rho = _rho_weight(self, input_shape[0][-1], ADALIN_RHO_START)
        self._scaled_mix = _scaled_layer_instance_mix(self.epsilon)

    def call(self, inputs):
        x, gamma, beta = inputs
        gamma = ops.cast(gamma, "float32")[:, None, None, :]
        beta = ops.cast(beta, "float32")[:, None, None, :]
        return ops.cast(self._scaled_mix(x, ops.convert_to_tensor(self.rho), gamma, beta), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="ugatit")
class LayerInstanceNormalization(layers.Layer):
    """ILN: ρ (from 0), γ (from 1) and β (from 0) learned per channel; ρ clipped to [0, 1]."""

    def __init__(self, epsilon: float = NORM_EPSILON, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.rho = _rho_weight(self, channels, 0.0)
        self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")
        self._scaled_mix = _scaled_layer_instance_mix(self.epsilon)

    def call(self, x):
        gamma, beta = (ops.cast(weight, "float32") for weight in (self.gamma, self.beta))
        return ops.cast(self._scaled_mix(x, ops.convert_to_tensor(self.rho), gamma, beta), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def _maybe_spectral(layer: layers.Layer, spectral_norm: bool, name: str) -> layers.Layer:
    return spectral_normalization(layer, name) if spectral_norm else layer


@keras.saving.register_keras_serializable(package="ugatit")
class ClassActivationMap(layers.Layer):
    """x [B, H, W, C] -> (the weighted maps [B, H, W, 2C], the auxiliary logits [B, 2] in float32).

    The logits are Dense(1, no bias) on the global average and on the global
    max of x; the maps are x times each Dense's weights, channel by channel,
    concatenated (GAP first), as the reference's `gap`/`gmp` branches.
    With `spectral_norm` (the discriminators'), both Dense layers carry it.
    """

    def __init__(self, spectral_norm: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.spectral_norm = bool(spectral_norm)
        self.pooled_dense = {
            pooling: _maybe_spectral(
                layers.Dense(1, use_bias=False, kernel_initializer=weight_initializer(), name=f"{pooling}_fc"),
                self.spectral_norm,
                name=f"{pooling}_fc_sn",
            )
            for pooling in ("gap", "gmp")
        }

    def build(self, input_shape):
        for dense in self.pooled_dense.values():
            dense.build((None, input_shape[-1]))

    def _kernel(self, pooling: str):
        dense = self.pooled_dense[pooling]
        return (dense.layer if self.spectral_norm else dense).kernel

    def call(self, x, training=None):
        pooled = {"gap": ops.mean(x, axis=(1, 2)), "gmp": ops.max(x, axis=(1, 2))}
        logits, maps = [], []
        for pooling, features in pooled.items():
            logits.append(ops.cast(self.pooled_dense[pooling](features, training=training), "float32"))
            maps.append(x * ops.cast(ops.reshape(self._kernel(pooling), (-1,)), x.dtype))
        return ops.concatenate(maps, axis=-1), ops.concatenate(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height, width, 2 * channels), (batch, 2)

    def get_config(self):
        return {**super().get_config(), "spectral_norm": self.spectral_norm}


def conv(filters: int, kernel_size: int, strides: int = 1, use_bias: bool = False, dtype=None, name=None):
    """A "valid" convolution (padding is a separate layer), N(0, 0.02) weights, no bias unless asked."""
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        use_bias=use_bias,
        kernel_initializer=weight_initializer(),
        dtype=dtype,
        name=name,
    )


def dense(units: int, name: str, dtype=None, layer_class=layers.Dense) -> layers.Dense:
    return layer_class(units, use_bias=False, kernel_initializer=weight_initializer(), dtype=dtype, name=name)


def image_input(image_size: int, name: str) -> keras.KerasTensor:
    return keras.Input((image_size, image_size, IMAGE_CHANNELS), name=name)


def _padded_conv_layers(filters: int, kernel_size: int, strides: int, name: str) -> list[layers.Layer]:
    return [
        ReflectionPadding2D(kernel_size // 2, name=f"{name}_pad"),
        conv(filters, kernel_size, strides, name=f"{name}_conv"),
    ]


def _padded_conv(x, filters: int, kernel_size: int, strides: int, name: str):
    for layer in _padded_conv_layers(filters, kernel_size, strides, name):
        x = layer(x)
    return x


def _conv_norm_relu_layers(filters: int, kernel_size: int, strides: int, name: str) -> list[layers.Layer]:
    return [
        *_padded_conv_layers(filters, kernel_size, strides, name),
        instance_normalization(f"{name}_norm"),
        layers.ReLU(name=f"{name}_relu"),
    ]


def _conv_norm_relu(x, filters: int, kernel_size: int, strides: int, name: str):
    for layer in _conv_norm_relu_layers(filters, kernel_size, strides, name):
        x = layer(x)
    return x


def _upsampling_layers(filters: int, name: str) -> list[layers.Layer]:
    """Nearest 2x upsampling, ReflPad1 Conv3 to `filters`, ILN, ReLU: a decoder stage."""
    return [
        layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample"),
        *_padded_conv_layers(filters, 3, 1, name),
        LayerInstanceNormalization(name=f"{name}_iln"),
        layers.ReLU(name=f"{name}_relu"),
    ]


def _residual_block(x, name: str):
    """x + IN(Conv3(ReflPad1(ReLU(IN(Conv3(ReflPad1(x))))))), the encoder's blocks."""
    filters = x.shape[-1]
    y = _conv_norm_relu(x, filters, 3, 1, f"{name}_1")
    y = _padded_conv(y, filters, 3, 1, f"{name}_2")
    y = instance_normalization(f"{name}_2_norm")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _adalin_residual_block(x, gamma, beta, name: str):
    """x + AdaLIN(Conv3(ReflPad1(ReLU(AdaLIN(Conv3(ReflPad1(x)), γ, β)))), γ, β), the decoder's blocks."""
    filters = x.shape[-1]
    y = _padded_conv(x, filters, 3, 1, f"{name}_1")
    y = AdaptiveLayerInstanceNormalization(name=f"{name}_1_adalin")([y, gamma, beta])
    y = layers.ReLU(name=f"{name}_1_relu")(y)
    y = _padded_conv(y, filters, 3, 1, f"{name}_2")
    y = AdaptiveLayerInstanceNormalization(name=f"{name}_2_adalin")([y, gamma, beta])
    return layers.Add(name=f"{name}_add")([x, y])


def _mlp(x, light: bool, name: str):
    """(γ, β) [B, C] each, C the map's channels: two Dense C + ReLU on the flattened map (full) or its global
    average (light), then one Dense C for each.

    Always float32: under mixed precision Keras would cast full mode's
    268M-weight kernel to 16 bits on every pass (0.5 GB each, kept for the
    backward pass), while its input is one vector per image. That first
    kernel's gradient is built in one product over all the generator's uses
    in a train step (`ugatit.kernel_gradients`), not as one 1 GB part per
    use, and is kept as blocks of `MLP_KERNEL_ROWS_PER_BLOCK` rows, which
    Adam updates one after another: the step never holds the 1 GB gradient.
    """
    width = x.shape[-1]
    h = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x) if light else layers.Flatten(name=f"{name}_flatten")(x)
    for index in (1, 2):
        layer_class = (
            functools.partial(RecordedKernelDense, rows_per_block=MLP_KERNEL_ROWS_PER_BLOCK)
            if index == 1
            else layers.Dense
        )
        h = dense(width, f"{name}_fc{index}", dtype="float32", layer_class=layer_class)(h)
        h = layers.ReLU(dtype="float32", name=f"{name}_fc{index}_relu")(h)
    return dense(width, f"{name}_gamma", dtype="float32")(h), dense(width, f"{name}_beta", dtype="float32")(h)


def ugatit_generator(
    image_size: int = 256, light: bool = False, filters: int = BASE_FILTERS, name: str = "generator"
) -> keras.Model:
    """Image in [-1, 1] -> (translated image in [-1, 1], CAM logits [B, 2], heatmap [B, S/4, S/4, 1]), float32.

    `light` gives the MLP the pooled features (10,589,888 parameters at any
    size) instead of the flattened map (278,959,808 at 256 px). `filters` is
    the stem's width (the reference's --ch), doubled by each downsampling.
    The image side must be a multiple of 4.
    """
    if image_size % 2**DOWNSAMPLINGS:
        raise ValueError(f"the U-GAT-IT generator needs an image size divisible by 4, got {image_size}")
    images = image_input(image_size, f"{name}_images")
    stage = functools.partial(RematerializedSequence, rematerialize=not light)
    x = stage(_conv_norm_relu_layers(filters, 7, 1, f"{name}_stem"), name=f"{name}_stem")(images)
    for index in range(1, DOWNSAMPLINGS + 1):
        down = f"{name}_down{index}"
        x = stage(_conv_norm_relu_layers(filters * 2**index, 3, 2, down), name=down)(x)
    for index in range(1, RESIDUAL_BLOCKS + 1):
        x = _residual_block(x, f"{name}_block{index}")
    weighted, cam_logits = ClassActivationMap(name=f"{name}_cam")(x)
    x = conv(filters * 2**DOWNSAMPLINGS, 1, use_bias=True, name=f"{name}_cam_conv1x1")(weighted)
    x = layers.ReLU(name=f"{name}_cam_relu")(x)
    heatmap = ChannelSum(dtype="float32", name=f"{name}_heatmap")(x)
    gamma, beta = _mlp(x, light, f"{name}_mlp")
    for index in range(1, RESIDUAL_BLOCKS + 1):
        x = _adalin_residual_block(x, gamma, beta, f"{name}_adalin{index}")
    for index in range(1, DOWNSAMPLINGS + 1):
        up = f"{name}_up{index}"
        x = stage(_upsampling_layers(x.shape[-1] // 2, up), name=up)(x)
    x = stage(_padded_conv_layers(IMAGE_CHANNELS, 7, 1, f"{name}_head"), name=f"{name}_head")(x)
    translated = layers.Activation("tanh", dtype="float32", name=f"{name}_tanh")(x)
    return keras.Model(images, [translated, cam_logits, heatmap], name=name)


@keras.saving.register_keras_serializable(package="ugatit")
class ChannelSum(layers.Layer):
    """[B, H, W, C] -> [B, H, W, 1]: the CAM heatmap, the sum of the attention-weighted channels."""

    def call(self, x):
        return ops.sum(ops.cast(x, "float32"), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)


def _sn_conv(filters: int, strides: int, use_bias: bool, name: str, dtype=None):
    return spectral_normalization(
        conv(filters, 4, strides, use_bias=use_bias, dtype=dtype, name=name), f"{name}_sn", dtype
    )


def smallest_discriminator_input(n_layers: int) -> int:
    """The smallest image side an n_layers discriminator takes: its n_layers - 2 halvings, then two 4x4
    convolutions that each take 1 px off (3 x 2^(n_layers - 2): 96 px for the global one, 24 for the local)."""
    return 3 * 2 ** (n_layers - 2)


def ugatit_discriminator(
    image_size: int = 256, n_layers: int = 7, filters: int = BASE_FILTERS, name: str = "discriminator"
) -> keras.Model:
    """Image -> (patch logits, CAM logits [B, 2], heatmap), float32: the global (n_layers 7) or local (5) critic.

    n_layers - 2 stride-2 SN convolutions from `filters` channels, doubling, then one
    stride-1; CAM; Conv1x1 (no SN) + LeakyReLU(0.2); an SN stride-1
    convolution to one logit per patch (6x6 global, 30x30 local at 256 px).
    """
    if n_layers < 4:
        raise ValueError(f"a U-GAT-IT discriminator needs n_layers >= 4, got {n_layers}")
    if image_size < smallest_discriminator_input(n_layers):
        raise ValueError(
            f"a U-GAT-IT discriminator of {n_layers} layers needs images of at least "
            f"{smallest_discriminator_input(n_layers)} px (its patch map would be empty), got {image_size}"
        )
    images = image_input(image_size, f"{name}_images")
    x = images
    for index in range(1, n_layers):
        strides = 1 if index == n_layers - 1 else 2
        x = ReflectionPadding2D(1, name=f"{name}_conv{index}_pad")(x)
        x = _sn_conv(filters * 2 ** (index - 1), strides, use_bias=True, name=f"{name}_conv{index}")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_conv{index}_lrelu")(x)
    channels = x.shape[-1]
    weighted, cam_logits = ClassActivationMap(spectral_norm=True, name=f"{name}_cam")(x)
    x = conv(channels, 1, use_bias=True, name=f"{name}_cam_conv1x1")(weighted)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_cam_lrelu")(x)
    heatmap = ChannelSum(dtype="float32", name=f"{name}_heatmap")(x)
    x = ReflectionPadding2D(1, name=f"{name}_logits_pad")(x)
    x = _sn_conv(1, 1, use_bias=False, name=f"{name}_logits")(x)
    logits = layers.Activation("linear", dtype="float32", name=f"{name}_logits_float32")(x)
    return keras.Model(images, [logits, cam_logits, heatmap], name=name)
