"""CycleGAN losses (Zhu et al. 2017, arXiv 1703.10593, §3 and §5.2), one per equation, pure Keras.

With generators G: X -> Y and F: Y -> X and discriminators D_Y, D_X, the full
objective (eq. 3) is

    L(G, F, D_X, D_Y) = L_GAN(G, D_Y, X, Y) + L_GAN(F, D_X, Y, X) + λ L_cyc(G, F)

with λ = 10, to which the reference code adds the identity loss weighted by
0.5·λ (`lambda_identity` = 0.5). The adversarial losses are the shared ones of
`training.gan_losses`, re-exported here; CycleGAN uses "lsgan" (§4: least
squares for stabler training), "bce" is the paper's eq. 1.

Reduction: every loss is the mean over all the elements it is given (pixels
and channels of the batch, or logits of the patch maps), as the reference's
`nn.L1Loss` and `nn.MSELoss`. Inputs may be float16 (mixed precision); every
loss is computed in float32.
"""

from __future__ import annotations

from training.gan_losses import (  # noqa: F401  (re-exported: the CycleGAN losses in one place)
    GAN_LOSSES,
    discriminator_loss,
    generator_adversarial_loss,
    mean_absolute_error,
)


def cycle_consistency_loss(real, reconstructed):
    """The cycle-consistency loss of one direction (eq. 2 has both):

        L_cyc(G, F) = E_{x~p_data(x)} ||F(G(x)) - x||_1 + E_{y~p_data(y)} ||G(F(y)) - y||_1

    Given real images x and their reconstructions F(G(x)): the mean absolute
    difference over every pixel and channel.
    """
    return mean_absolute_error(reconstructed, real)


def identity_loss(real, same):
    """The identity mapping loss of one generator (§5.2, after Taigman et al. 2017):

        L_identity(G, F) = E_{y~p_data(y)} ||G(y) - y||_1 + E_{x~p_data(x)} ||F(x) - x||_1

    Given real images y of G's target domain and G(y): the mean absolute
    difference over every pixel and channel. It keeps the colour composition
    of the input; the reference weights it by λ·lambda_identity = 10 · 0.5.
    """
    return mean_absolute_error(same, real)


def halved_discriminator_loss(real_logits, fake_logits, gan_loss: str = "lsgan"):
    """The reference's discriminator loss, 0.5 (loss_D_real + loss_D_fake).

    For D_Y, eq. 1 is maximised over D_Y:

        L_GAN(G, D_Y, X, Y) = E_{y~p_data(y)} log D_Y(y) + E_{x~p_data(x)} log(1 - D_Y(G(x)))

    and with "lsgan" (§4) D_Y minimises E (D_Y(y) - 1)^2 + E D_Y(G(x))^2. The
    halving "slows down the rate at which D learns, relative to the rate of G"
    (appendix 7.1). `fake_logits` are those of generated images, from the image pool.
    """
    return 0.5 * discriminator_loss(real_logits, fake_logits, gan_loss)
