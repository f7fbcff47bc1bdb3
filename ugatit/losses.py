"""U-GAT-IT's losses (Kim et al. 2020, arXiv 1907.10830, §2.3), one per equation, pure Keras.

With generators G_s→t, G_t→s, discriminators D_t, D_s (each a global and a
local one), and auxiliary classifiers η (the generators' CAM) and η_D (the
discriminators' CAM), the full objective is

    min_{G, η} max_{D, η_D}  λ1 L_lsgan + λ2 L_cycle + λ3 L_identity + λ4 L_cam

with λ1 = 1, λ2 = 10, λ3 = 10, λ4 = 1000, each term summed over both
directions. The adversarial terms are the least-squares losses of
`training.gan_losses` ("lsgan"), applied to the patch logits and to the CAM
logits of every discriminator, as the reference does.

Reduction: every loss is the mean over all the elements it is given, as the
reference's `nn.L1Loss`, `nn.MSELoss` and `nn.BCEWithLogitsLoss`. Inputs may
be float16 or bfloat16 (mixed precision); every loss is computed in float32.
"""

from __future__ import annotations

from keras import ops

from training.gan_losses import (
    discriminator_loss,
    generator_adversarial_loss,
    mean_absolute_error,
    sigmoid_cross_entropy,
)


def adversarial_generator_loss(fake_outputs) -> object:
    """The generator's L_lsgan on one discriminator's outputs for translated images:

        L_lsgan^{s→t} = E_{x~X_s} (D_t(G_s→t(x)) - 1)^2

    on the patch logits plus the same on the CAM logits (`fake_outputs` =
    (patch logits, CAM logits), the discriminator's first two outputs).
    """
    patch_logits, cam_logits = fake_outputs[:2]
    return generator_adversarial_loss(patch_logits, "lsgan") + generator_adversarial_loss(cam_logits, "lsgan")


def adversarial_discriminator_loss(real_outputs, fake_outputs) -> object:
    """The discriminator's side of L_lsgan (eq. 2):

        L_lsgan^{s→t} = E_{x~X_t} (D_t(x))^2 + E_{x~X_s} (1 - D_t(G_s→t(x)))^2

    as the reference implements it (real -> 1, translated -> 0, least squares),
    on the patch logits plus the same on the CAM logits.
    """
    return discriminator_loss(real_outputs[0], fake_outputs[0], "lsgan") + discriminator_loss(
        real_outputs[1], fake_outputs[1], "lsgan"
    )


def cycle_loss(real, reconstructed):
    """L_cycle^{s→t} = E_{x~X_s} |x - G_t→s(G_s→t(x))|_1 (eq. 3): the mean absolute difference."""
    return mean_absolute_error(reconstructed, real)


def identity_loss(real, same):
    """L_identity^{s→t} = E_{x~X_t} |x - G_s→t(x)|_1 (eq. 4): a generator leaves its target domain's images alone."""
    return mean_absolute_error(same, real)


def generator_cam_loss(source_cam_logits, target_cam_logits):
    """The generator's CAM loss (eq. 5):

        L_cam^{s→t} = -(E_{x~X_s} log η_s(x) + E_{x~X_t} log(1 - η_s(x)))

    η_s(x) = σ(CAM logit) is the probability that x comes from the
    generator's source domain: its logits on source images (`source_cam_logits`)
    are pushed to 1, those on its target domain's images (the identity pass)
    to 0. Binary cross-entropy on logits, each side averaged.
    """
    source_cam_logits = ops.cast(source_cam_logits, "float32")
    target_cam_logits = ops.cast(target_cam_logits, "float32")
    source_term = ops.mean(sigmoid_cross_entropy(ops.ones_like(source_cam_logits), source_cam_logits))
    target_term = ops.mean(sigmoid_cross_entropy(ops.zeros_like(target_cam_logits), target_cam_logits))
    return source_term + target_term
