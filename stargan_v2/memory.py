"""What a StarGAN v2 training run will hold in memory, worked out from the layout before anything is built.

At 256 px the four networks have 78.1M parameters, and one iteration of the
official PyTorch code at batch 8 peaks at 17.8 GB of resident memory on a
CPU (4.2 GB at batch 1); `stargan_v2.train --dry_run` prints this estimate so
a run that cannot fit is known before it starts.

The estimate has two parts:
- the training state, exact: every parameter's float32 weight and its two
  Adam moments, the moving averages of G, F and E, and the gradients of the
  larger of the two updates (G, F and E together in the generator step; D
  in the discriminator step);
- the activations the generator step keeps for its backward pass (its
  largest), an approximation: three generator passes (the translation, the
  second translation of L_ds, the reconstruction of L_cyc), one
  discriminator pass and two style-encoder passes (the translation's style
  for L_sty, the source's for L_cyc); each residual block keeps about
  `TENSORS_KEPT_AT_INPUT` tensors the size of its input (input,
  normalisation, activation, first convolution) and `TENSORS_KEPT_AT_OUTPUT`
  the size of its output, or, when it recomputes its maps in the backward
  pass (`rematerialize_size`), only its output. Mixed precision halves the
  activations, not the state (Keras keeps float32 weights).
"""

from __future__ import annotations

from stargan_v2 import networks
from training.memory_estimate import MemoryEstimate

FLOAT32_BYTES = 4
STATE_COPIES = 3  # weight + Adam's two moments, float32
AVERAGED = ("generator", "mapping_network", "style_encoder")  # the moving averages' copies
GENERATOR_STEP_PASSES = {"generator": 3, "discriminator": 1, "style_encoder": 2}
TENSORS_KEPT_AT_INPUT = 4
TENSORS_KEPT_AT_OUTPUT = 6


def _blocks_elements(blocks, input_side: int, rematerialize_size: int = 0) -> int:
    """Elements the residual blocks [(dim_in, dim_out, resample, halve)] keep for one image, from `input_side`
    px; a block that resamples halves the side (`halve`) or doubles it, and one whose larger side is
    `rematerialize_size` or more (when > 0) keeps only its output."""
    elements, side = 0, input_side
    for dim_in, dim_out, resample, halve in blocks:
        output_side = side if not resample else (side // 2 if halve else side * 2)
        if networks.recomputes(rematerialize_size, max(side, output_side)):
            elements += output_side**2 * dim_out
        else:
            elements += TENSORS_KEPT_AT_INPUT * side**2 * dim_in + TENSORS_KEPT_AT_OUTPUT * output_side**2 * dim_out
        side = output_side
    return elements


def _pass_elements(config: dict) -> dict:
    """Elements one pass of each network keeps for one image."""
    image_size, max_conv_dim, first_conv_dim = config["image_size"], config["max_conv_dim"], _first_conv_dim(config)
    encoder, decoder = networks.generator_plan(image_size, max_conv_dim, config["w_hpf"], first_conv_dim)
    generator = [(i, o, r, True) for i, o, r in encoder] + [(i, o, r, False) for i, o, r in decoder]
    trunk = [(i, o, True, True) for i, o in networks.trunk_plan(image_size, max_conv_dim, first_conv_dim)]
    trunk_elements = _blocks_elements(trunk, image_size)
    return {
        "generator": _blocks_elements(generator, image_size, config.get("rematerialize_size", 0)),
        "discriminator": trunk_elements,
        "style_encoder": trunk_elements,
    }


def estimate(config: dict) -> MemoryEstimate:
    """The training memory of a run's config ("image_size", "num_domains", "style_dim", "latent_dim",
    "max_conv_dim", "first_conv_dim", "rematerialize_size", "w_hpf", "batch_size", "mixed_precision"); a
    config without "first_conv_dim" or "rematerialize_size" gets the official code's layout (0: the width rule,
    every map kept)."""
    counts = networks.parameter_counts(
        config["image_size"],
        config["num_domains"],
        config["style_dim"],
        config["latent_dim"],
        config["max_conv_dim"],
        config["w_hpf"],
        _first_conv_dim(config),
    )
    generator_step = sum(counts[name] for name in AVERAGED)
    state = FLOAT32_BYTES * (
        STATE_COPIES * sum(counts.values()) + generator_step + max(generator_step, counts["discriminator"])
    )
    per_pass = _pass_elements(config)
    per_image = sum(passes * per_pass[name] for name, passes in GENERATOR_STEP_PASSES.items())
    bytes_per_element = FLOAT32_BYTES if config["mixed_precision"] == "off" else 2
    return MemoryEstimate(
        counts,
        state,
        per_image * config["batch_size"] * bytes_per_element,
        state_contents="weights, averages, Adam moments and gradients",
    )


def _first_conv_dim(config: dict) -> int:
    return config.get("first_conv_dim", 0)
