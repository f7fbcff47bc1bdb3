"""The adversarial losses every GAN package shares (Goodfellow et al. 2014; Mao et al. 2017), pure Keras.

The GAN game of a discriminator D (here a logit z = D(x); σ(z) is the
probability that x is real) and a generator G:

    min_G max_D V(D, G) = E_{x~p_data} log σ(D(x)) + E_{z~p_z} log(1 - σ(D(G(z))))

With ℓ(label, z) = -label log σ(z) - (1 - label) log(1 - σ(z)), the binary
cross-entropy of a logit, D maximises V by minimising
E ℓ(1, D(x)) + E ℓ(0, D(G(z))). G minimises the non-saturating
E ℓ(1, D(G(z))) = -E log σ(D(G(z))) instead of E log(1 - σ(D(G(z)))): the same
fixed point, but strong gradients while D still rejects G's samples easily
(Goodfellow et al. 2014, §3).

"bce" is that game; "lsgan" replaces ℓ by squared distances to the labels
(Mao et al. 2017). Every loss is the mean over the batch it is given, computed
in float32 whatever the logits' dtype (mixed precision).
"""

from __future__ import annotations

from keras import ops

GAN_LOSSES = ("bce", "lsgan")


def check_option(name: str, value: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def sigmoid_cross_entropy(labels, logits):
    """Element-wise ℓ(label, logit) = -label log σ(logit) - (1 - label) log(1 - σ(logit)), in float32."""
    return ops.binary_crossentropy(ops.cast(labels, "float32"), ops.cast(logits, "float32"), from_logits=True)


def generator_adversarial_loss(fake_logits, gan_loss: str = "bce"):
    """The generator's loss on the logits D(G(z)) of its samples.

    "bce" (default): the non-saturating E ℓ(1, D(G(z))) = -E log σ(D(G(z))) (Goodfellow et al. 2014).
    "lsgan": E (D(G(z)) - 1)^2 (Mao et al. 2017).
    """
    check_option("gan_loss", gan_loss, GAN_LOSSES)
    fake_logits = ops.cast(fake_logits, "float32")
    if gan_loss == "bce":
        return ops.mean(sigmoid_cross_entropy(ops.ones_like(fake_logits), fake_logits))
    return ops.mean(ops.square(fake_logits - 1.0))


def discriminator_loss(real_logits, fake_logits, gan_loss: str = "bce"):
    """The discriminator's loss: real images -> 1, generated ones -> 0, summed.

    "bce" (default): E ℓ(1, D(x)) + E ℓ(0, D(G(z))) = -V(D, G).
    "lsgan": E (D(x) - 1)^2 + E D(G(z))^2.
    """
    check_option("gan_loss", gan_loss, GAN_LOSSES)
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    if gan_loss == "bce":
        real_term = ops.mean(sigmoid_cross_entropy(ops.ones_like(real_logits), real_logits))
        fake_term = ops.mean(sigmoid_cross_entropy(ops.zeros_like(fake_logits), fake_logits))
        return real_term + fake_term
    return ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits))


def mean_absolute_error(a, b):
    """E |a - b| over every element, in float32: the L1 of the cycle and identity losses of the translators."""
    return ops.mean(ops.abs(ops.cast(a, "float32") - ops.cast(b, "float32")))
