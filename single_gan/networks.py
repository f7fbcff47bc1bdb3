"""The DCGAN's generator and discriminator (report §6.1), as `keras.Sequential` models, pure Keras.

The report started from the TensorFlow DCGAN tutorial (its ref [3]: 28x28
grey MNIST digits) and ended with one more (de)convolution for 64x64 RGB
cartoons. With the default widths:

    Generator G                                 Discriminator D
    z           100                             input   64x64x3
    dense       8x8x256   BN LReLU              conv1   32x32x64   LReLU dropout
    deconv1     8x8x128   BN LReLU (stride 1)   conv2   16x16x128  LReLU dropout
    deconv2     16x16x64  BN LReLU              conv3   8x8x256    LReLU dropout (the extra layer)
    deconv3     32x32x32  BN LReLU (the extra)  dense   1 (logit)
    output      64x64x3   tanh

As in the tutorial: 5x5 kernels, "same" padding; every hidden generator layer
is batch-normalised (so it carries no bias, which the normalisation would
subtract) and LeakyReLU (Keras's default slope, 0.3); the discriminator has no
normalisation and drops 30% of its features after each convolution. The
widths are parameters: `generator_filters` = (dense, deconv1, deconv2, ...)
sets the depth too, each deconvolution after the first doubling the size up to
64x64; `discriminator_filters` = one stride-2 convolution per entry. The image
and the logit are computed in float32, so `mixed_float16` keeps them
numerically safe.
"""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SHAPE = (64, 64, 3)
NOISE_DIM = 100
GENERATOR_FILTERS = (256, 128, 64, 32)
DISCRIMINATOR_FILTERS = (64, 128, 256)
KERNEL_SIZE = 5
LEAKY_SLOPE = 0.3  # the tutorial's layers.LeakyReLU() default
DROPOUT_RATE = 0.3


def generator_start_size(generator_filters) -> int:
    """Side of the dense layer's feature map: every deconvolution after the first (and the output) doubles it."""
    if len(generator_filters) < 2:
        raise ValueError(f"generator_filters needs at least 2 widths (dense, deconv1), got {list(generator_filters)}")
    doublings = len(generator_filters) - 1
    size, remainder = divmod(IMAGE_SHAPE[0], 2**doublings)
    if remainder or size < 1:
        raise ValueError(
            f"{len(generator_filters)} generator widths double the size {doublings} times, "
            f"which cannot end at {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[0]}"
        )
    return size


def build_generator(noise_dim: int = NOISE_DIM, filters=GENERATOR_FILTERS) -> keras.Sequential:
    """G: noise [B, noise_dim] -> images [B, 64, 64, 3] in [-1, 1] (tanh, float32)."""
    size = generator_start_size(filters)
    model = keras.Sequential(name="generator")
    model.add(keras.Input((noise_dim,), name="noise"))
    model.add(layers.Dense(size * size * filters[0], use_bias=False, name="dense"))
    model.add(layers.BatchNormalization(name="dense_bn"))
    model.add(layers.LeakyReLU(LEAKY_SLOPE, name="dense_lrelu"))
    model.add(layers.Reshape((size, size, filters[0]), name="reshape"))
    for index, width in enumerate(filters[1:], start=1):
        # The tutorial's first deconvolution keeps the size; the following ones double it.
        strides = 1 if index == 1 else 2
        model.add(
            layers.Conv2DTranspose(
                width, KERNEL_SIZE, strides=strides, padding="same", use_bias=False, name=f"deconv{index}"
            )
        )
        model.add(layers.BatchNormalization(name=f"deconv{index}_bn"))
        model.add(layers.LeakyReLU(LEAKY_SLOPE, name=f"deconv{index}_lrelu"))
    model.add(
        layers.Conv2DTranspose(
            IMAGE_SHAPE[-1],
            KERNEL_SIZE,
            strides=2,
            padding="same",
            use_bias=False,
            activation="tanh",
            dtype="float32",
            name="output",
        )
    )
    return model


def build_discriminator(filters=DISCRIMINATOR_FILTERS) -> keras.Sequential:
    """D: images [B, 64, 64, 3] -> one real/fake logit [B, 1] (float32)."""
    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(IMAGE_SHAPE, name="images"))
    for index, width in enumerate(filters, start=1):
        model.add(layers.Conv2D(width, KERNEL_SIZE, strides=2, padding="same", name=f"conv{index}"))
        model.add(layers.LeakyReLU(LEAKY_SLOPE, name=f"conv{index}_lrelu"))
        model.add(layers.Dropout(DROPOUT_RATE, name=f"conv{index}_dropout"))
    model.add(layers.Flatten(name="flatten"))
    model.add(layers.Dense(1, dtype="float32", name="logit"))
    return model
