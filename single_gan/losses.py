"""DCGAN losses (report §6.1): binary cross-entropy on the discriminator's logit for both players.

The game of Goodfellow et al. (2014), as the report and the TensorFlow DCGAN
tutorial play it (see `training.gan_losses` for the derivation):

    L_D = E_{x~p_data} ℓ(1, D(x)) + E_{z~N(0, I)} ℓ(0, D(G(z)))
    L_G = E_{z~N(0, I)} ℓ(1, D(G(z)))          (non-saturating)

with ℓ(label, logit) the binary cross-entropy of a logit. Every loss is the
mean over the batch it is given, in float32.
"""

from __future__ import annotations

from keras import ops

from training import gan_losses


def discriminator_loss(real_logits, fake_logits):
    """L_D = E_x ℓ(1, D(x)) + E_z ℓ(0, D(G(z))): real images labelled 1, generated ones 0."""
    return gan_losses.discriminator_loss(real_logits, fake_logits, "bce")


def generator_loss(fake_logits):
    """L_G = E_z ℓ(1, D(G(z))) = -E_z log σ(D(G(z))): the generator wants its samples called real."""
    return gan_losses.generator_adversarial_loss(fake_logits, "bce")


def mean_probability_real(logits):
    """E σ(D(x)): the discriminator's mean belief that a batch is real, in float32.

    Not a loss but the clearest view of the game: at the equilibrium both
    D(real) and D(fake) approach 1/2; D(real) -> 1 with D(fake) -> 0 is the
    discriminator winning (the report's experiment 1, whose images went black).
    """
    return ops.mean(ops.sigmoid(ops.cast(logits, "float32")))
