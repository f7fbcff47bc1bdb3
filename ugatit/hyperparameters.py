"""U-GAT-IT's hyperparameters, declared once: its flags, run config entries, constructor arguments and
`get_config` derive from `UGATITHyperparameters` (see `training.hyperparameters`)."""

from __future__ import annotations

import dataclasses

from training.hyperparameters import Hyperparameters, hyperparameter
from ugatit import networks

SMALLEST_IMAGE_SIZE = networks.smallest_discriminator_input(networks.GLOBAL_DISCRIMINATOR_LAYERS)


@dataclasses.dataclass(frozen=True)
class UGATITHyperparameters(Hyperparameters):
    image_size: int = hyperparameter(
        256,
        f"Side of the square training images, a multiple of 4 and at least {SMALLEST_IMAGE_SIZE} (the global "
        "discriminator's five halvings).",
        lower_bound=SMALLEST_IMAGE_SIZE,
        check=(lambda size: size % 4 == 0, "must be a multiple of 4"),
    )
    light: bool = hyperparameter(
        False,
        "Light generators: the MLP that makes AdaLIN's gamma and beta sees the pooled features, not the whole "
        "flattened map (10.6M instead of 279M parameters per generator at 256 px).",
    )
    filters: int = hyperparameter(
        networks.BASE_FILTERS,
        "Width of every network's first convolution, doubled by each downsampling (the reference's --ch).",
        lower_bound=4,
    )
    adversarial_weight: float = hyperparameter(
        1.0, "Weight λ1: the least-squares adversarial terms (patch and CAM logits).", lower_bound=0.0
    )
    cycle_weight: float = hyperparameter(10.0, "Weight λ2: the cycle terms |x - G_t→s(G_s→t(x))|.", lower_bound=0.0)
    identity_weight: float = hyperparameter(
        10.0, "Weight λ3: the identity terms |x - G_s→t(x)| on target-domain images.", lower_bound=0.0
    )
    cam_weight: float = hyperparameter(
        1000.0,
        "Weight λ4: the generators' CAM terms (binary cross-entropy of their auxiliary classifier).",
        lower_bound=0.0,
    )
