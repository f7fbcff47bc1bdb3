"""What a U-GAT-IT training run will hold in memory, worked out from the architecture before anything is built.

Full mode at 256 px has 670.8M parameters in two generators and four
discriminators; users run out of memory on 8-12 GB GPUs (taki0112/UGATIT #82,
#125). `ugatit.train --dry_run` prints this estimate so a run that cannot fit
is known before it allocates 2.7 GB of weights.

The estimate has two parts:
- the training state, exact: every parameter's float32 weight, its two Adam
  moments, and its gradient (generators' and discriminators' gradients are
  alive in different steps, so only the larger set counts). The generators'
  first MLP kernels (268M weights each in full mode at 256 px) are kept as
  row blocks whose gradients Adam builds from two small factors, X^T dY, and
  applies one block after another (`ugatit.factored_updates`):
  their gradients are not counted;
- the activations the generator step keeps for its backward pass, an
  approximation: the generator step runs the generators six times
  (translation, reconstruction and identity, both ways) and the
  discriminators four times, and each pass keeps about `TENSORS_KEPT` tensors
  the size of each stage's output (padding, convolution, normalisation,
  activation; AdaLIN and ILN keep only their input, their float32
  intermediates being recomputed in the backward pass, and, in full mode,
  the rematerialised stem, down and up stages only their output). Mixed precision
  halves the activations, not the state (Keras keeps float32 weights).
"""

from __future__ import annotations

from training.memory_estimate import MemoryEstimate
from ugatit import networks

FLOAT32_BYTES = 4
STATE_COPIES = 3  # weight + Adam's two moments, float32
GENERATOR_PASSES = 6  # per generator step: a2b, b2a, both reconstructions, both identities
DISCRIMINATOR_PASSES = 4  # per generator step: each discriminator on the translations it judges
# Tensors of a stage's output size kept per pass (approximate): {stage: count}.
TENSORS_KEPT = {"encoder": 4, "residual": 8, "cam": 6, "adalin_residual": 5, "upsample": 3, "discriminator": 4}
RECOMPUTED_STAGE_TENSORS_KEPT = 1  # a full-mode encoder or upsampling stage keeps only its output
# The run settings full mode's memory asks for, unless given: malloc's mmap threshold at 1 MB
# (`training.host_memory`), so the 16.8 MB activation maps a step frees leave the resident set instead of
# glibc's arenas (0.6 GB off full mode's peak, at no measurable cost in float32 speed: docs/experiments.md).
FULL_MODE_RECIPE = {"malloc_mmap_threshold_mb": 1.0}


def generator_parameters(image_size: int, light: bool, filters: int = networks.BASE_FILTERS) -> int:
    """Parameters of one generator (the PyTorch reference's: 10,589,888 light, 278,959,808 full at 256 px)."""
    f, c = filters, filters * 2**networks.DOWNSAMPLINGS
    encoder = 3 * f * 49 + f * 2 * f * 9 + 2 * f * c * 9 + networks.RESIDUAL_BLOCKS * 2 * c * c * 9
    cam = 2 * c + 2 * c * c + c
    mlp = mlp_kernel_parameters(image_size, light, filters) + 3 * c * c
    decoder = networks.RESIDUAL_BLOCKS * (2 * c * c * 9 + 2 * c)
    upsampling = c * (c // 2) * 9 + 3 * (c // 2) + (c // 2) * f * 9 + 3 * f
    return encoder + cam + mlp + decoder + upsampling + f * 3 * 49


def mlp_kernel_parameters(image_size: int, light: bool, filters: int = networks.BASE_FILTERS) -> int:
    """Weights of one generator's first MLP kernel: the C pooled features (light) or the flattened (S/4)^2 C map
    (full), to C units."""
    c = filters * 2**networks.DOWNSAMPLINGS
    return (c if light else (image_size // 4) ** 2 * c) * c


def discriminator_parameters(n_layers: int, filters: int = networks.BASE_FILTERS) -> int:
    """Trainable parameters of one discriminator (53,130,176 global, 3,290,560 local at ndf 64).

    Spectral normalisation's u vectors are not trainable and not counted, as PyTorch keeps them as buffers.
    """
    convolutions = 3 * filters * 16 + filters
    channels = filters
    for _ in range(n_layers - 2):  # the stride-2 convolutions after the first, then the stride-1 one
        convolutions += channels * 2 * channels * 16 + 2 * channels
        channels *= 2
    return convolutions + 2 * channels + 2 * channels * channels + channels + channels * 16


def _generator_activation_elements(image_size: int, light: bool, filters: int) -> int:
    """Approximate elements one generator pass keeps for its backward pass, for one image."""
    s, f, c = image_size, filters, filters * 2**networks.DOWNSAMPLINGS
    bottleneck = (s // 4) ** 2 * c
    encoder_kept, upsample_kept = (
        (TENSORS_KEPT["encoder"], TENSORS_KEPT["upsample"]) if light else (RECOMPUTED_STAGE_TENSORS_KEPT,) * 2
    )
    encoder = encoder_kept * (s * s * f + (s // 2) ** 2 * 2 * f + bottleneck)
    residual = networks.RESIDUAL_BLOCKS * TENSORS_KEPT["residual"] * bottleneck
    cam = TENSORS_KEPT["cam"] * bottleneck
    adalin = networks.RESIDUAL_BLOCKS * TENSORS_KEPT["adalin_residual"] * bottleneck
    upsampling = upsample_kept * ((s // 2) ** 2 * c // 2 + s * s * f)
    return encoder + residual + cam + adalin + upsampling + 3 * s * s * 3


def _discriminator_activation_elements(image_size: int, n_layers: int, filters: int) -> int:
    """Approximate elements one discriminator pass keeps, for one image: its stride-2 stages' outputs."""
    elements, side, channels = 0, image_size, filters
    for _ in range(n_layers - 2):
        side //= 2
        elements += side * side * channels
        channels *= 2
    return TENSORS_KEPT["discriminator"] * elements


def estimate(
    image_size: int,
    light: bool,
    filters: int = networks.BASE_FILTERS,
    batch_size: int = 1,
    mixed_precision: str = "off",
) -> MemoryEstimate:
    """The training memory of a run at these settings; `mixed_precision` the policy ("off", "mixed_float16",
    "mixed_bfloat16")."""
    generators = 2 * generator_parameters(image_size, light, filters)
    discriminators = 2 * sum(
        discriminator_parameters(n, filters)
        for n in (networks.GLOBAL_DISCRIMINATOR_LAYERS, networks.LOCAL_DISCRIMINATOR_LAYERS)
    )
    parameters = generators + discriminators
    generator_gradients = generators - 2 * mlp_kernel_parameters(image_size, light, filters)
    state = FLOAT32_BYTES * (STATE_COPIES * parameters + max(generator_gradients, discriminators))
    per_image = GENERATOR_PASSES * _generator_activation_elements(
        image_size, light, filters
    ) + DISCRIMINATOR_PASSES * sum(
        _discriminator_activation_elements(image_size, n, filters)
        for n in (networks.GLOBAL_DISCRIMINATOR_LAYERS, networks.LOCAL_DISCRIMINATOR_LAYERS)
    )
    activation_bytes = per_image * batch_size * (FLOAT32_BYTES if mixed_precision == "off" else 2)
    return MemoryEstimate({"generators": generators, "discriminators": discriminators}, state, activation_bytes)
