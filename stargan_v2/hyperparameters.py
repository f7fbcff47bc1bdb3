"""StarGAN v2's hyperparameters, declared once: its flags, run config entries, constructor arguments and
`get_config` derive from `StarGANv2Hyperparameters` (see `training.hyperparameters`).

The defaults are the official code's (clovaai/stargan-v2 main.py) and the paper's (Choi et al. 2020, eq. 5
and appendix): λ_reg = λ_sty = λ_cyc = λ_ds = 1 (the AFHQ setting uses λ_ds = 2), λ_ds decayed linearly to
0 over ds_iter = 100,000 iterations, w_hpf = 0 (AFHQ; the CelebA-HQ setting's 1 adds the FAN's masks).
"""

from __future__ import annotations

import dataclasses

from training.hyperparameters import Hyperparameters, hyperparameter

# {old flag or config name: the current name}: none yet.
RENAMED = {}


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@dataclasses.dataclass(frozen=True)
class StarGANv2Hyperparameters(Hyperparameters):
    image_size: int = hyperparameter(
        256,
        "Side of the square training images (img_size): a power of two; every network halves it down to 4x4.",
        lower_bound=32,
        check=(_is_power_of_two, "must be a power of two"),
    )
    num_domains: int = hyperparameter(
        2, "Number of domains K (num_domains): one output branch of F, E and D each.", lower_bound=1
    )
    style_dim: int = hyperparameter(64, "Size of a style code s (style_dim).", lower_bound=1)
    latent_dim: int = hyperparameter(
        16, "Size of a latent code z, the mapping network's input (latent_dim).", lower_bound=1
    )
    max_conv_dim: int = hyperparameter(
        512, "Most channels of any convolution (max_conv_dim); each level doubles the last.", lower_bound=1
    )
    first_conv_dim: int = hyperparameter(
        0,
        "Channels of the first convolution; 0: the official 2**14 // image_size (64 at 256 px, 512 at 32 px, "
        "which keeps every level as costly as at 256 px).",
        lower_bound=0,
    )
    rematerialize_size: int = hyperparameter(
        128,
        "Generator blocks whose feature maps are this many pixels a side or more recompute them in the "
        "backward pass instead of keeping them (keras.remat): less memory for one more forward pass of those "
        "blocks; the same outputs and gradients. 0: keep every map.",
        lower_bound=0,
    )
    w_hpf: int = hyperparameter(
        0,
        "Weight of the high-pass filter (w_hpf): 1 adds the FAN landmark masks and high-pass skips of the "
        "CelebA-HQ setting, 0 (AFHQ) none.",
        lower_bound=0,
        upper_bound=1,
        choices=(0, 1),
    )
    r1_weight: float = hyperparameter(
        1.0, "λ_reg (the paper's γ): weight of the R1 penalty on D's gradient at real images.", lower_bound=0.0
    )
    style_weight: float = hyperparameter(
        1.0, "λ_sty: weight of the style reconstruction loss L_sty (eq. 2).", lower_bound=0.0
    )
    cycle_weight: float = hyperparameter(
        1.0, "λ_cyc: weight of the cycle consistency loss L_cyc (eq. 4).", lower_bound=0.0
    )
    diversity_weight: float = hyperparameter(
        1.0,
        "λ_ds: initial weight of the diversity sensitive loss L_ds (eq. 3), decayed linearly to 0 (AFHQ: 2).",
        lower_bound=0.0,
    )
    diversity_decay_steps: int = hyperparameter(
        100_000, "ds_iter: iterations over which λ_ds decays linearly to 0.", lower_bound=1
    )
