"""The DCGAN's hyperparameters, declared once: its flags, run config entries, constructor arguments and
`get_config` derive from `DCGANHyperparameters` (see `training.hyperparameters`)."""

from __future__ import annotations

import dataclasses

from single_gan import networks
from training.hyperparameters import Hyperparameters, hyperparameter

# {old flag or config name: the current name}: the old names keep working, with a deprecation warning.
RENAMED = {"preset": "recipe"}


@dataclasses.dataclass(frozen=True)
class DCGANHyperparameters(Hyperparameters):
    noise_dim: int = hyperparameter(networks.NOISE_DIM, "Size of the noise vector z.", lower_bound=1)
    generator_filters: tuple[int, ...] = hyperparameter(
        networks.GENERATOR_FILTERS,
        "Comma-separated widths of the generator's dense layer and deconvolutions; n widths start from a "
        "(64 / 2^(n-1))-pixel map, so 2 to 7 of them.",
    )
    discriminator_filters: tuple[int, ...] = hyperparameter(
        networks.DISCRIMINATOR_FILTERS,
        "Comma-separated widths of the discriminator's stride-2 convolutions, one per entry.",
    )
