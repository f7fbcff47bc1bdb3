"""CycleGAN's ResNet generator and 70x70 PatchGAN discriminator (Zhu et al. 2017, appendix 7.2), pure Keras.

As the authors' reference code builds them (junyanz/pytorch-CycleGAN-and-pix2pix,
models/networks.py: ResnetGenerator, ResnetBlock, NLayerDiscriminator), with
its defaults: instance normalisation, no dropout. Output sizes at 256 px:

    Generator (resnet_generator)                    Discriminator (patchgan_discriminator)
    stem      ReflPad3 Conv7 s1   256x256x64        conv1   pad1 Conv4 s2   128x128x64
    down1     pad1 Conv3 s2       128x128x128       conv2   pad1 Conv4 s2   64x64x128
    down2     pad1 Conv3 s2       64x64x256         conv3   pad1 Conv4 s2   32x32x256
    block1-9  residual blocks     64x64x256         conv4   pad1 Conv4 s1   31x31x512
    up1       ConvT3 s2           128x128x128       logits  pad1 Conv4 s1   30x30x1
    up2       ConvT3 s2           256x256x64
    head      ReflPad3 Conv7 s1   256x256x3, tanh

A residual block is x + IN(Conv3(ReflPad1(ReLU(IN(Conv3(ReflPad1(x))))))).

In the generator every stage but the head ends with instance normalisation
(IN) and ReLU, and no activation follows a residual block's sum. In the
discriminator conv2-conv4 end with IN and LeakyReLU(0.2), conv1 with
LeakyReLU(0.2) alone, and the logits are the last convolution's raw output;
each logit sees a 70x70 patch of the image. The generator has 9 residual
blocks for 256 px images, 6 for 128 px (the paper's choice).

Faithful details of the reference:

- instance normalisation has no learned scale or offset (`InstanceNorm2d`'s
  default `affine=False`, eps 1e-5) and always uses the statistics of the
  image it normalises: `GroupNormalization` with one group per channel;
- every convolution has a bias (the reference drops biases only before batch
  normalisation); weights are drawn from N(0, 0.02), biases start at zero;
- the strided convolutions pad with zeros, one pixel on every side
  (`padding=1`). Keras's "same" would pad 0 before and 1 after for these
  stride-2 convolutions, shifting every sample by one pixel, so the padding is
  an explicit `ZeroPadding2D(1)` before a "valid" convolution;
- the transposed convolutions (`padding=1, output_padding=1`) output exactly
  twice their input's size: the full transposed convolution, 2H+1 samples,
  without its first one. Keras's "same" keeps the first 2H instead, so they
  are a "valid" `Conv2DTranspose` followed by `Cropping2D` of the first row
  and column;
- the image (tanh) and the logits are computed in float32, so a
  `mixed_float16` policy keeps them numerically safe.

`image_size=None` builds fully convolutional networks for any input size
(the generator needs multiples of 4 to give back the input's size).
"""

from __future__ import annotations

import keras
from keras import layers

from training.layers import ReflectionPadding2D, instance_normalization, spectral_normalization, weight_initializer

IMAGE_CHANNELS = 3
LEAKY_SLOPE = 0.2
PATCHGAN_STRIDES = (2, 2, 2, 1)  # the 70x70 PatchGAN (n_layers=3): three halvings, then one stride-1 conv


def conv(filters: int, kernel_size: int, strides: int = 1, dtype=None, name: str | None = None) -> layers.Conv2D:
    """A "valid" convolution with bias, initialised as the reference's; padding is a separate layer."""
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="valid",
        kernel_initializer=weight_initializer(),
        bias_initializer="zeros",
        dtype=dtype,
        name=name,
    )


def _conv_norm_relu(x, filters: int, kernel_size: int, strides: int, padding: layers.Layer, name: str):
    """padding -> conv -> IN -> ReLU, the layers named `{name}_pad`, `{name}_conv`, `{name}_norm`, `{name}_relu`."""
    x = padding(x)
    x = conv(filters, kernel_size, strides, name=f"{name}_conv")(x)
    x = instance_normalization(f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _residual_block(x, name: str):
    """A residual block at constant size and width; its layers are named `{name}_pad1` ... `{name}_add`."""
    filters = x.shape[-1]
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = conv(filters, 3, name=f"{name}_conv1")(y)
    y = instance_normalization(f"{name}_norm1")(y)
    y = layers.ReLU(name=f"{name}_relu")(y)
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = conv(filters, 3, name=f"{name}_conv2")(y)
    y = instance_normalization(f"{name}_norm2")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _upsample(x, filters: int, name: str, upsampling: str = "transposed"):
    """Twice the size, then IN -> ReLU: `transposed`, ConvT3 stride 2 as PyTorch's padding=1, output_padding=1
    (exactly 2x); `resize_conv`, nearest-neighbour 2x, reflection pad 1, conv 3x3 (Odena et al. 2016,
    "Deconvolution and Checkerboard Artifacts": every output pixel sees the kernel alike)."""
    if upsampling == "resize_conv":
        x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
        x = ReflectionPadding2D(1, name=f"{name}_pad")(x)
        x = conv(filters, 3, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2DTranspose(
            filters,
            3,
            strides=2,
            padding="valid",
            kernel_initializer=weight_initializer(),
            bias_initializer="zeros",
            name=f"{name}_deconv",
        )(x)
        x = layers.Cropping2D(((1, 0), (1, 0)), name=f"{name}_crop")(x)
    x = instance_normalization(f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def image_input(image_size: int | None, name: str) -> keras.KerasTensor:
    return keras.Input((image_size, image_size, IMAGE_CHANNELS), name=name)


def resnet_generator(
    image_size: int | None = 256,
    residual_blocks: int = 9,
    filters: int = 64,
    upsampling: str = "transposed",
    name: str = "generator",
) -> keras.Model:
    """The ResNet generator: image in [-1, 1] -> translated image in [-1, 1] (float32), same size.

    `residual_blocks` is 9 for 256 px (the default, 11,378,179 parameters), 6 for 128 px;
    `filters` is the stem's width (the reference's ngf), doubled by each downsampling; `upsampling` the
    up-sampling layers' kind (`_upsample`), which leaves the parameter count as it is.
    Layers are named `{name}_{stage}_...` after the stages of the module's table.
    """
    images = image_input(image_size, f"{name}_images")
    x = _conv_norm_relu(images, filters, 7, 1, ReflectionPadding2D(3, name=f"{name}_stem_pad"), f"{name}_stem")
    for index in (1, 2):
        stage = f"{name}_down{index}"
        x = _conv_norm_relu(x, filters * 2**index, 3, 2, layers.ZeroPadding2D(1, name=f"{stage}_pad"), stage)
    for index in range(1, residual_blocks + 1):
        x = _residual_block(x, f"{name}_block{index}")
    for index in (1, 2):
        x = _upsample(x, filters * 2 ** (2 - index), f"{name}_up{index}", upsampling)
    x = ReflectionPadding2D(3, name=f"{name}_head_pad")(x)
    x = conv(IMAGE_CHANNELS, 7, name=f"{name}_head_conv")(x)
    translated = layers.Activation("tanh", dtype="float32", name=f"{name}_tanh")(x)
    return keras.Model(images, translated, name=name)


def patchgan_discriminator(
    image_size: int | None = 256, filters: int = 64, spectral_norm: bool = False, name: str = "discriminator"
) -> keras.Model:
    """The 70x70 PatchGAN: image -> a map of real/fake logits (float32), 30x30x1 at 256 px, 14x14x1 at 128 px.

    `filters` is conv1's width (the reference's ndf), doubled by conv2, conv3 and conv4. `spectral_norm`
    wraps every convolution in spectral normalisation (Miyato et al. 2018: each kernel divided by its
    largest singular value, which bounds the discriminator's Lipschitz constant), the instance norms kept.
    Layers are named `{name}_conv{i}_pad`, `{name}_conv{i}`, `{name}_conv{i}_norm`,
    `{name}_conv{i}_lrelu`, and `{name}_logits_pad`, `{name}_logits`.
    """

    def convolution(width: int, strides: int, layer_name: str, dtype=None) -> layers.Layer:
        if not spectral_norm:
            return conv(width, 4, strides, dtype=dtype, name=layer_name)
        return spectral_normalization(conv(width, 4, strides, dtype=dtype), layer_name, dtype=dtype)

    images = image_input(image_size, f"{name}_images")
    x = images
    for index, strides in enumerate(PATCHGAN_STRIDES, start=1):
        stage = f"{name}_conv{index}"
        x = layers.ZeroPadding2D(1, name=f"{stage}_pad")(x)
        x = convolution(filters * 2 ** (index - 1), strides, stage)(x)
        if index > 1:  # the reference normalises every conv but the first
            x = instance_normalization(f"{stage}_norm")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{stage}_lrelu")(x)
    x = layers.ZeroPadding2D(1, name=f"{name}_logits_pad")(x)
    logits = convolution(1, 1, f"{name}_logits", dtype="float32")(x)
    return keras.Model(images, logits, name=name)
