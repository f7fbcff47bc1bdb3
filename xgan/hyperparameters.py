"""XGAN's hyperparameters, declared once: its flags, run config entries, constructor arguments and
`get_config` derive from `XGANHyperparameters` (see `training.hyperparameters`).

The defaults are the paper's model; `xgan.train` has its own training defaults where they differ, and
its --recipe=report restores the paper's.
"""

from __future__ import annotations

import dataclasses

from training.hyperparameters import Hyperparameters, hyperparameter
from xgan import losses
from xgan.networks import DOMAINS, UPSAMPLING_KINDS

# --discriminate: the domains with a discriminator on translated images.
DISCRIMINATE_OPTIONS = {"cartoon": ("cartoon",), "both": DOMAINS}
# {old flag or config name: the current name}: the old names keep working, with a deprecation warning.
RENAMED = {"gan_weight": "adversarial_weight"}


@dataclasses.dataclass(frozen=True)
class XGANHyperparameters(Hyperparameters):
    reconstruction_weight: float = hyperparameter(
        1.0, "ω_rec: weight of the auto-encoders' reconstruction loss L_rec (both domains).", lower_bound=0.0
    )
    domain_adversarial_weight: float = hyperparameter(
        1.0,
        "ω_d: weight of the encoders' domain term, L_conf or the reversed L_dann (--recipe=report: 1).",
        lower_bound=0.0,
    )
    semantic_weight: float = hyperparameter(
        1.0,
        "ω_s: weight of the semantic consistency loss L_sem, both directions (--recipe=report: 1).",
        lower_bound=0.0,
    )
    adversarial_weight: float = hyperparameter(
        1.0,
        "ω_gan: weight of the generators' adversarial loss on translated images (--recipe=report: 1).",
        lower_bound=0.0,
    )
    teacher_weight: float = hyperparameter(
        1.0, "ω_t: weight of the teacher loss L_teach (only with --teacher_model).", lower_bound=0.0
    )
    reconstruction_distance: str = hyperparameter(
        "l2",
        "Distance of L_rec between an image and its reconstruction: l2 (mean squared error, the report's "
        "code) or l1 (mean absolute error).",
        choices=losses.RECONSTRUCTION_DISTANCES,
    )
    semantic_distance: str = hyperparameter(
        "l1",
        "Distance of L_sem and L_teach between embeddings: l1 (paper), l2 or cosine.",
        choices=losses.SEMANTIC_DISTANCES,
    )
    gan_loss: str = hyperparameter(
        "bce",
        "Adversarial loss: bce (binary cross-entropy on logits, the report's) or lsgan (least squares).",
        choices=losses.GAN_LOSSES,
    )
    discriminate: str = hyperparameter(
        "cartoon",
        "Domains with a discriminator on translated images: cartoon (the report) or both (the paper).",
        choices=tuple(DISCRIMINATE_OPTIONS),
    )
    domain_objective: str = hyperparameter(
        "confusion",
        "How the encoders play against the DANN classifier c_dann: confusion (they minimise the "
        "cross-entropy to 1/2, Tzeng et al. 2015; c_dann trains with the discriminators) or reversal "
        "(the paper and --recipe=report: c_dann trains behind a gradient-reversal layer, the encoders "
        "maximise L_dann).",
        choices=losses.DOMAIN_OBJECTIVES,
    )
    gradient_reversal_scale: float = hyperparameter(
        1.0,
        "λ: weight of the encoders' share of the c_dann gradient (reversed under --domain_objective=reversal).",
        lower_bound=0.0,
    )
    warmup_steps: int = hyperparameter(
        0,
        "Auto-encoder warm-up: only L_rec trains for this many steps, then the other terms grow "
        "linearly to their full weight over as many again (0: every term from the first step, as "
        "the paper and --recipe=report).",
        lower_bound=0,
    )
    mirror_private_init: bool = hyperparameter(
        True,
        "Start the cartoon's private encoder and decoder halves as copies of the face's (still separate "
        "variables), so both auto-encoders begin as one; --nomirror_private_init (and --recipe=report) draws "
        "them independently.",
    )
    upsampling: str = hyperparameter(
        "transposed",
        "The decoders' four up-sampling layers: transposed (4x4 transposed convolutions, the paper's) or "
        "resize_conv (nearest-neighbour 2x resize, then a 3x3 convolution: no uneven kernel overlap, 9/16 of "
        "the weights).",
        choices=UPSAMPLING_KINDS,
    )
    spectral_norm: bool = hyperparameter(
        False, "Spectral normalisation of every layer of the discriminators (the paper's have none)."
    )
