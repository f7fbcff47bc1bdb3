"""StarGAN v2's four networks as functional Keras models, laid out as the official code builds them.

clovaai/stargan-v2, core/model.py: `Generator`, `MappingNetwork`, `StyleEncoder`, `Discriminator`. Widths start
at `dim_in = 2**14 // img_size` (or `first_conv_dim`, when given) and double at each level up to
`max_conv_dim`. The per-domain heads of F, E and
D are all computed and each sample keeps its own domain's (`out[idx, y]`). Layer names follow the official
module names (`from_rgb`, `encode_i`, `decode_i`, `shared_i`, `unshared_k`...), which `stargan_v2.convert`
relies on. `parameter_counts` gives every network's size from the same layout without building anything.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from stargan_v2.layers import (
    AdainResBlk,
    HighPassSkip,
    InstanceNorm,
    ResBlk,
    SelectDomain,
    conv,
    dense,
)

IMAGE_CHANNELS = 3
BOTTLENECK_BLOCKS = 2
MAPPING_WIDTH = 512
MAPPING_SHARED_LAYERS = 4  # Linear(latent, 512) and three Linear(512, 512), each followed by a ReLU
MAPPING_HIDDEN_LAYERS_PER_DOMAIN = 3  # then Linear(512, style_dim)
# Feature sizes (px) at which a w_hpf > 0 generator caches encoder features and adds high-pass skips; the
# official uses masks[0] at 32 px and masks[1] at 64 and 128.
HIGH_PASS_SIZES = (32, 64, 128)
HIGH_PASS_MASK_INDEX = {32: 0, 64: 1, 128: 1}


def first_width(image_size: int, first_conv_dim: int = 0) -> int:
    """The first convolution's width: `first_conv_dim`, or the official `dim_in = 2**14 // img_size` (64 channels
    at 256 px) when it is 0.

    The official rule keeps every level's cost the same at any image size (a 32 px network starts at 512
    channels); `first_conv_dim` lets a small network be cheap as well as small.
    """
    return first_conv_dim or 2**14 // image_size


def generator_plan(image_size: int, max_conv_dim: int, w_hpf: float, first_conv_dim: int = 0):
    """The generator's blocks as (dim_in, dim_out, resample) triples, encoder then decoder order.

    `repeat_num = log2(img_size) - 4` down-sampling ResBlks (one more when w_hpf > 0), then two bottleneck
    ResBlks; the decoder mirrors them with AdainResBlks inserted at the front (stack-like), so it starts with
    the bottleneck blocks and ends with the up-sampling block back to `dim_in`.
    """
    levels = _log2(image_size, "image_size") - 4 + (1 if w_hpf > 0 else 0)
    if levels < 1:
        raise ValueError(f"the generator needs image_size >= {16 if w_hpf > 0 else 32}, got {image_size}")
    encoder, decoder = [], []
    dim_in = first_width(image_size, first_conv_dim)
    for _ in range(levels):
        dim_out = min(dim_in * 2, max_conv_dim)
        encoder.append((dim_in, dim_out, True))
        decoder.insert(0, (dim_out, dim_in, True))
        dim_in = dim_out
    for _ in range(BOTTLENECK_BLOCKS):
        encoder.append((dim_in, dim_in, False))
        decoder.insert(0, (dim_in, dim_in, False))
    return encoder, decoder


def trunk_plan(image_size: int, max_conv_dim: int, first_conv_dim: int = 0) -> list[tuple[int, int]]:
    """The style encoder's and discriminator's `log2(img_size) - 2` down-sampling ResBlks, to 4x4."""
    levels = _log2(image_size, "image_size") - 2
    if levels < 1:
        raise ValueError(f"the style encoder and discriminator need image_size >= 8, got {image_size}")
    blocks, dim_in = [], first_width(image_size, first_conv_dim)
    for _ in range(levels):
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append((dim_in, dim_out))
        dim_in = dim_out
    return blocks


def recomputes(rematerialize_size: int, largest_side: int) -> bool:
    """Whether a generator block whose input or output is `largest_side` px a side recomputes its maps in the
    backward pass: `rematerialize_size` > 0 and at most that side."""
    return 0 < rematerialize_size <= largest_side


def build_generator(
    image_size=256,
    style_dim=64,
    max_conv_dim=512,
    w_hpf=0,
    first_conv_dim=0,
    rematerialize_size=0,
    name="generator",
) -> keras.Model:
    """G(x, s): inputs `[images (N,S,S,3), styles (N,style_dim)]` and, when w_hpf > 0, `masks (N,S,S,2)`.

    from_rgb (3x3 conv) → encoder ResBlks (affine IN, down-sampling) → decoder AdainResBlks → to_rgb
    (affine IN, LReLU, 1x1 conv to 3). No tanh, as the official. With w_hpf > 0 the features entering an
    encoder block at 32, 64 or 128 px are kept and, after the decoder block of that size, `hpf(mask * cached)`
    is added. The blocks whose input or output side is `rematerialize_size` px or more (0: none) recompute
    their maps in the backward pass instead of keeping them: the same outputs and gradients, the largest maps
    of a training step's memory spared for one more forward pass of those blocks.
    """
    encoder, decoder = generator_plan(image_size, max_conv_dim, w_hpf, first_conv_dim)
    images = keras.Input((image_size, image_size, IMAGE_CHANNELS), name="images")
    styles = keras.Input((style_dim,), name="styles")
    inputs = [images, styles]
    if w_hpf > 0:
        masks = keras.Input((image_size, image_size, 2), name="masks")
        inputs.append(masks)

    x = conv(first_width(image_size, first_conv_dim), 3, name="from_rgb")(images)
    size, cached = image_size, {}
    for index, (dim_in, dim_out, downsample) in enumerate(encoder):
        if w_hpf > 0 and size in HIGH_PASS_SIZES:
            cached[size] = x
        recompute = recomputes(rematerialize_size, size)
        x = ResBlk(
            dim_in, dim_out, normalize=True, downsample=downsample, rematerialize=recompute, name=f"encode_{index}"
        )(x)
        size = size // 2 if downsample else size
    for index, (dim_in, dim_out, upsample) in enumerate(decoder):
        size = size * 2 if upsample else size
        recompute = recomputes(rematerialize_size, size)
        block = AdainResBlk(
            dim_in, dim_out, w_hpf=w_hpf, upsample=upsample, rematerialize=recompute, name=f"decode_{index}"
        )
        x = block(x, styles)
        if w_hpf > 0 and size in HIGH_PASS_SIZES:
            skip = HighPassSkip(w_hpf, mask_index=HIGH_PASS_MASK_INDEX[size], name=f"hpf_skip_{size}")
            x = skip(x, cached[size], masks)

    x = InstanceNorm(affine=True, name="to_rgb_norm")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="to_rgb_leaky_relu")(x)
    outputs = conv(IMAGE_CHANNELS, 1, dtype="float32", name="to_rgb_conv")(x)
    return keras.Model(inputs, outputs, name=name)


def build_mapping_network(latent_dim=16, style_dim=64, num_domains=2, name="mapping_network") -> keras.Model:
    """F(z, y): inputs `[latents (N,latent_dim), domains (N,) int32]` -> styles (N,style_dim).

    shared: Linear(latent, 512)-ReLU and 3x [Linear(512, 512)-ReLU]; per domain: 3x [Linear(512, 512)-ReLU]
    and Linear(512, style_dim); the sample's own domain's style is returned.
    """
    latents = keras.Input((latent_dim,), name="latents")
    domains = keras.Input((), dtype="int32", name="domains")
    h = latents
    for index in range(MAPPING_SHARED_LAYERS):
        h = dense(MAPPING_WIDTH, activation="relu", name=f"shared_{index}")(h)
    per_domain = []
    for domain in range(num_domains):
        y = h
        for index in range(MAPPING_HIDDEN_LAYERS_PER_DOMAIN):
            y = dense(MAPPING_WIDTH, activation="relu", name=f"unshared_{domain}_{index}")(y)
        per_domain.append(dense(style_dim, name=f"unshared_{domain}_{MAPPING_HIDDEN_LAYERS_PER_DOMAIN}")(y))
    styles = SelectDomain(name="select_domain")(per_domain, domains)
    return keras.Model([latents, domains], styles, name=name)


def build_style_encoder(
    image_size=256, style_dim=64, num_domains=2, max_conv_dim=512, first_conv_dim=0, name="style_encoder"
) -> keras.Model:
    """E(x, y): inputs `[images (N,S,S,3), domains (N,) int32]` -> styles (N,style_dim).

    The down-sampling trunk (see `_downsampling_trunk`) flattened, then one Linear(dim, style_dim) per domain.
    """
    images = keras.Input((image_size, image_size, IMAGE_CHANNELS), name="images")
    domains = keras.Input((), dtype="int32", name="domains")
    h = layers.Flatten(name="flatten")(_downsampling_trunk(images, image_size, max_conv_dim, first_conv_dim))
    per_domain = [dense(style_dim, name=f"unshared_{domain}")(h) for domain in range(num_domains)]
    styles = SelectDomain(name="select_domain")(per_domain, domains)
    return keras.Model([images, domains], styles, name=name)


def build_discriminator(
    image_size=256, num_domains=2, max_conv_dim=512, first_conv_dim=0, name="discriminator"
) -> keras.Model:
    """D(x, y): inputs `[images (N,S,S,3), domains (N,) int32]` -> logits (N,).

    The down-sampling trunk, then a 1x1 conv to one logit per domain; the sample's own domain's is returned.
    """
    images = keras.Input((image_size, image_size, IMAGE_CHANNELS), name="images")
    domains = keras.Input((), dtype="int32", name="domains")
    h = _downsampling_trunk(images, image_size, max_conv_dim, first_conv_dim)
    h = conv(num_domains, 1, dtype="float32", name="logits")(h)
    per_domain = layers.Reshape((num_domains,), name="flatten")(h)
    logits = SelectDomain(dtype="float32", name="select_domain")(per_domain, domains)
    return keras.Model([images, domains], logits, name=name)


def _downsampling_trunk(images, image_size: int, max_conv_dim: int, first_conv_dim: int):
    """The official `shared` / `main` Sequential: Conv3x3 → ResBlks (no norm, down-sampling) to 4x4 → LReLU →
    Conv4x4 (valid, to 1x1) → LReLU."""
    blocks = trunk_plan(image_size, max_conv_dim, first_conv_dim)
    x = conv(first_width(image_size, first_conv_dim), 3, name="from_rgb")(images)
    for index, (dim_in, dim_out) in enumerate(blocks):
        x = ResBlk(dim_in, dim_out, downsample=True, name=f"block_{index}")(x)
    x = layers.LeakyReLU(negative_slope=0.2, name="leaky_relu_1")(x)
    dim_out = blocks[-1][1]
    x = conv(dim_out, 4, padding="valid", name="conv_4x4")(x)
    return layers.LeakyReLU(negative_slope=0.2, name="leaky_relu_2")(x)


def parameter_counts(
    image_size=256, num_domains=2, style_dim=64, latent_dim=16, max_conv_dim=512, w_hpf=0, first_conv_dim=0
) -> dict[str, int]:
    """Each network's parameter count, from the layout alone (nothing is built): for a dry run.

    At 256 px, 2 domains, style 64, latent 16: generator 33,892,995 (w_hpf 0) or 43,467,395 (w_hpf 1), mapping
    network 2,438,272, style encoder 20,916,928, discriminator 20,852,290, as the official `build_model`.
    """
    encoder, decoder = generator_plan(image_size, max_conv_dim, w_hpf, first_conv_dim)
    width = first_width(image_size, first_conv_dim)
    generator = _conv_count(3, IMAGE_CHANNELS, width)
    generator += sum(_res_block_count(dim_in, dim_out, normalize=True) for dim_in, dim_out, _ in encoder)
    generator += sum(_adain_res_block_count(dim_in, dim_out, style_dim) for dim_in, dim_out, _ in decoder)
    generator += 2 * width + _conv_count(1, width, IMAGE_CHANNELS)

    mapping = _dense_count(latent_dim, MAPPING_WIDTH) + (MAPPING_SHARED_LAYERS - 1) * _dense_count(
        MAPPING_WIDTH, MAPPING_WIDTH
    )
    mapping += num_domains * (
        MAPPING_HIDDEN_LAYERS_PER_DOMAIN * _dense_count(MAPPING_WIDTH, MAPPING_WIDTH)
        + _dense_count(MAPPING_WIDTH, style_dim)
    )

    blocks = trunk_plan(image_size, max_conv_dim, first_conv_dim)
    last = blocks[-1][1]
    trunk = _conv_count(3, IMAGE_CHANNELS, width) + _conv_count(4, last, last)
    trunk += sum(_res_block_count(dim_in, dim_out, normalize=False) for dim_in, dim_out in blocks)
    return {
        "generator": generator,
        "mapping_network": mapping,
        "style_encoder": trunk + num_domains * _dense_count(last, style_dim),
        "discriminator": trunk + _conv_count(1, last, num_domains),
    }


def _conv_count(kernel_size: int, channels_in: int, channels_out: int, bias: bool = True) -> int:
    return kernel_size * kernel_size * channels_in * channels_out + (channels_out if bias else 0)


def _dense_count(units_in: int, units_out: int) -> int:
    return units_in * units_out + units_out


def _res_block_count(dim_in: int, dim_out: int, normalize: bool) -> int:
    count = _conv_count(3, dim_in, dim_in) + _conv_count(3, dim_in, dim_out)
    if normalize:
        count += 2 * (2 * dim_in)
    if dim_in != dim_out:
        count += _conv_count(1, dim_in, dim_out, bias=False)
    return count


def _adain_res_block_count(dim_in: int, dim_out: int, style_dim: int) -> int:
    count = _conv_count(3, dim_in, dim_out) + _conv_count(3, dim_out, dim_out)
    count += _dense_count(style_dim, 2 * dim_in) + _dense_count(style_dim, 2 * dim_out)
    if dim_in != dim_out:
        count += _conv_count(1, dim_in, dim_out, bias=False)
    return count


def _log2(value: int, what: str) -> int:
    exponent = round(math.log2(value)) if value > 0 else -1
    if exponent < 0 or 2**exponent != value:
        raise ValueError(f"{what} must be a power of two, got {value}")
    return exponent
