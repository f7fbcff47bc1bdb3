"""The FAN landmark network of StarGAN v2's CelebA-HQ configuration (official core/wing.py), Keras 3, NHWC.

With w_hpf > 0 the generator adds high-passed encoder features inside face masks; the masks come from
`FAN.get_heatmap` (a pre-trained face-alignment network, AdaptiveWingLoss's FAN with 98 landmarks,
weights wing.ckpt). `build_fan` is `FAN(num_modules=1, end_relu=False, num_landmarks=98)`;
`load_torch_fan` fills it from wing.ckpt's state_dict; `heatmap_masks` is `get_heatmap(x, b_preprocess=True)`
and `preprocess`, through the steps of `stargan_v2.wing_masks`.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from stargan_v2.wing_layers import AddCoords, FrozenBatchNormalization
from stargan_v2.wing_masks import landmark_heatmaps, preprocess

FAN_INPUT_SIZE = 256
LANDMARKS = 98
HOURGLASS_DEPTH = 4
# torch's `sum(p.numel() for p in FAN().parameters())`: the conv kernels and biases and the BatchNorm weights
# and biases (tests/stargan_v2/test_wing.py spells out the sum). Keras counts the BatchNorm moving means and
# variances too: FAN_BATCH_NORM_STATISTICS more (two per BatchNorm channel, 7,488 channels).
# The FAN's file in a networks directory's export/ (`stargan_v2.convert --wing`, and a w_hpf = 1 run's copy).
FAN_EXPORT = "fan"
FAN_PARAMETERS = 6_333_603
FAN_BATCH_NORM_STATISTICS = 14_976


def build_fan(name: str = "fan") -> keras.Model:
    """The official FAN: (N, 256, 256, 3) images in [0, 1] -> (N, 64, 64, 99) heatmaps (its `outputs[-1]`).

    FAN.forward: CoordConv 7x7/2 (3 + x, y, r channels -> 64) - BN - ReLU - ConvBlock(64, 128) - avg-pool 2
    - ConvBlock(128, 128) - ConvBlock(128, 256) - HourGlass(depth 4) - ConvBlock(256, 256) `top_m_0` -
    conv1x1 `conv_last0` - BN `bn_end0` - ReLU - conv1x1 `l0` to 98 landmarks + 1 boundary map (no final ReLU,
    end_relu=False). The hourglass's own CoordConv runs without boundary channels (see `AddCoords`).

    Layers are named after the official modules ("m0.b1_4.conv1"), so `load_torch_fan` maps names one to
    one. Every BatchNorm uses its moving statistics and the model is not trainable: the official FAN is
    `.eval()` and the solver makes no optimizer for it.
    """
    images = keras.Input((FAN_INPUT_SIZE, FAN_INPUT_SIZE, 3), name="images")
    x = AddCoords(with_r=True, name="conv1.addcoords")(images)
    x = layers.ZeroPadding2D(3, name="conv1.pad")(x)  # torch's padding=3 on every side (not TF's "same": 2, 3)
    x = layers.Conv2D(64, 7, strides=2, name="conv1.conv")(x)
    x = layers.ReLU(name="relu1")(FrozenBatchNormalization(name="bn1")(x))
    x = layers.AveragePooling2D(2, name="pool1")(_conv_block(x, 128, "conv2"))
    x = _conv_block(x, 128, "conv3")
    x = _conv_block(x, 256, "conv4")

    x = AddCoords(with_r=True, name="m0.coordconv.addcoords")(x)
    x = layers.Conv2D(256, 1, name="m0.coordconv.conv")(x)
    x = _hourglass(x, HOURGLASS_DEPTH, "m0")
    x = _conv_block(x, 256, "top_m_0")
    x = layers.Conv2D(256, 1, name="conv_last0")(x)
    x = layers.ReLU(name="relu_end0")(FrozenBatchNormalization(name="bn_end0")(x))
    heatmaps = layers.Conv2D(LANDMARKS + 1, 1, name="l0")(x)
    fan = keras.Model(images, heatmaps, name=name)
    fan.trainable = False
    return fan


def _conv_block(x, filters: int, name: str):
    """The official ConvBlock(in, out): three BN-ReLU-conv3x3 (no bias) to out/2, out/4, out/4 channels, each
    on the previous one's output, concatenated (out channels), plus the input, through BN-ReLU-conv1x1
    (no bias) `downsample` when in != out."""
    branch = x
    outputs = []
    for index, branch_filters in enumerate((filters // 2, filters // 4, filters // 4), start=1):
        branch = FrozenBatchNormalization(name=f"{name}.bn{index}")(branch)
        branch = layers.ReLU(name=f"{name}.relu{index}")(branch)
        branch = layers.Conv2D(branch_filters, 3, padding="same", use_bias=False, name=f"{name}.conv{index}")(branch)
        outputs.append(branch)
    residual = x
    if x.shape[-1] != filters:
        residual = FrozenBatchNormalization(name=f"{name}.downsample.0")(residual)
        residual = layers.ReLU(name=f"{name}.downsample.1")(residual)
        residual = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}.downsample.2")(residual)
    merged = layers.Concatenate(name=f"{name}.concat")(outputs)
    return layers.Add(name=f"{name}.add")([merged, residual])


def _hourglass(x, level: int, name: str):
    """The official HourGlass._forward: `b1_level(x) + nearest-upsample(b3_level(inner(b2_level(avg-pool(x)))))`,
    where inner is the next level down, and `b2_plus_1` at level 1."""
    upper = _conv_block(x, 256, f"{name}.b1_{level}")
    lower = layers.AveragePooling2D(2, name=f"{name}.pool_{level}")(x)
    lower = _conv_block(lower, 256, f"{name}.b2_{level}")
    if level > 1:
        lower = _hourglass(lower, level - 1, name)
    else:
        lower = _conv_block(lower, 256, f"{name}.b2_plus_{level}")
    lower = _conv_block(lower, 256, f"{name}.b3_{level}")
    lower = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}.upsample_{level}")(lower)
    return layers.Add(name=f"{name}.add_{level}")([upper, lower])


def load_torch_fan(fan: keras.Model, state_dict: dict[str, np.ndarray]) -> None:
    """Fills `fan` (from `build_fan`) with wing.ckpt's `state_dict` ({torch name: array}).

    As the official `load_pretrained_weights`, names the model lacks are ignored (wing.ckpt holds more);
    every weight of the model must be there. Conv weights go OIHW -> HWIO; BatchNorm weight, bias,
    running_mean, running_var -> gamma, beta, moving_mean, moving_variance.
    """
    for layer in fan.layers:
        if isinstance(layer, FrozenBatchNormalization):
            names = ("weight", "bias", "running_mean", "running_var")
            values = [np.asarray(state_dict[f"{layer.name}.{n}"]) for n in names]
        elif isinstance(layer, layers.Conv2D):
            values = [np.transpose(np.asarray(state_dict[f"{layer.name}.weight"]), (2, 3, 1, 0))]
            if layer.use_bias:
                values.append(np.asarray(state_dict[f"{layer.name}.bias"]))
        else:
            continue
        for variable, value in zip(layer.weights, values, strict=True):
            if tuple(variable.shape) != value.shape:
                raise ValueError(
                    f"{layer.name}: {variable.path} is {tuple(variable.shape)}, the state_dict's {value.shape}"
                )
            variable.assign(value.astype(variable.dtype))


def heatmap_masks(fan: keras.Model, images, image_size: int):
    """Face masks for the generator's high-pass skips: images (N, S, S, 3) in [-1, 1] -> (N, S, S, 2) in [0, 1].

    The official `masks = nets.fan.get_heatmap(x)` (under `torch.no_grad`, hence the stop_gradient):
    `landmark_heatmaps` then `preprocess`, whose two masks are stacked on the last axis: channel 0 the whole
    face (`masks[0]`, used at 32 px), channel 1 without face line, eyebrows and mouth (`masks[1]`).

    The official masks are 256 px whatever the image size (get_heatmap resizes to 256 first), and the
    preprocess's shifts are in 256 px units (`sw = H // 256` is 1). StarGAN v2 runs at 256 px, where these
    are the official masks exactly; at another `image_size` they are resized bilinearly to the image size,
    so they stack with the images (the generator resizes them to each level anyway).
    """
    whole_face, inner_face = preprocess(landmark_heatmaps(fan, images))
    masks = keras.ops.stack([whole_face, inner_face], axis=-1)
    if image_size != FAN_INPUT_SIZE:
        masks = keras.ops.image.resize(masks, (image_size, image_size), interpolation="bilinear")
    return keras.ops.stop_gradient(masks)
