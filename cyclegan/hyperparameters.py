"""CycleGAN's hyperparameters, declared once: its flags, run config entries, constructor arguments and
`get_config` derive from `CycleGANHyperparameters` (see `training.hyperparameters`).

The identity terms' weights are no flags of their own: `cyclegan.train` speaks the reference's
--relative_identity_weight (a multiple of the cycle weights) and --cycle_loss, from which
`cyclegan.registration.model_weights` derives the four term weights the model takes.
"""

from __future__ import annotations

import dataclasses

from training import gan_losses
from training.hyperparameters import Hyperparameters, hyperparameter

# The reference's default is 9 blocks at 256 px; its 128 px setting uses 6.
RESNET_9_FROM_SIZE = 256
# {old flag or config name: the current name}: the old names keep working, with a deprecation warning.
RENAMED = {
    "experiment": "recipe",
    "lambda_a": "cycle_weight_a",
    "lambda_b": "cycle_weight_b",
    "lambda_identity": "relative_identity_weight",
}


@dataclasses.dataclass(frozen=True)
class CycleGANHyperparameters(Hyperparameters):
    image_size: int = hyperparameter(256, "Side of the square training images.", lower_bound=16)
    residual_blocks: int = hyperparameter(
        9,
        f"Residual blocks per generator (default: 9 at --image_size >= {RESNET_9_FROM_SIZE}, else 6).",
        lower_bound=1,
    )
    generator_filters: int = hyperparameter(
        64,
        "Width of each generator's first convolution, doubled by each downsampling (the reference's ngf).",
        lower_bound=1,
    )
    discriminator_filters: int = hyperparameter(
        64,
        "Width of each discriminator's first convolution, doubled by each of the next three (the reference's ndf).",
        lower_bound=1,
    )
    upsampling: str = hyperparameter(
        "transposed",
        "The generator's two up-sampling layers: transposed (3x3 transposed convolutions, the reference's) or "
        "resize_conv (nearest-neighbour resize, reflection pad, 3x3 convolution: the same parameters, no "
        "checkerboard of uneven kernel overlap).",
        choices=("transposed", "resize_conv"),
    )
    spectral_norm: bool = hyperparameter(
        False,
        "Spectral normalisation of every discriminator convolution (the reference has none).",
    )
    gan_loss: str = hyperparameter(
        "lsgan",
        "Adversarial loss: lsgan (least squares, the reference's) or bce (cross-entropy on logits).",
        choices=gan_losses.GAN_LOSSES,
    )
    cycle_weight_a: float = hyperparameter(10.0, "λ_A: weight of the cycle term A -> B -> A.", lower_bound=0.0)
    cycle_weight_b: float = hyperparameter(10.0, "λ_B: weight of the cycle term B -> A -> B.", lower_bound=0.0)
    identity_weight_a: float = hyperparameter(
        5.0,
        "Weight of the identity term idt_A = |G_A(b) - b| (the reference's λ_idt λ_B).",
        lower_bound=0.0,
        flag=False,
    )
    identity_weight_b: float = hyperparameter(
        5.0,
        "Weight of the identity term idt_B = |G_B(a) - a| (the reference's λ_idt λ_A).",
        lower_bound=0.0,
        flag=False,
    )
    pool_size: int = hyperparameter(
        50, "Translations each discriminator draws from (0: the newest only).", lower_bound=0
    )
