"""StarGAN v2's losses (Choi et al., CVPR 2020, arXiv 1912.01865, §2 and appendix), one per equation.

With a generator G(x, s), a mapping network F_y(z), a style encoder E_y(x) and
a multi-task discriminator D_y(x) (one logit per domain y), the full objective
(eq. 5) is

    min_{G,F,E} max_D  L_adv + λ_sty L_sty − λ_ds L_ds + λ_cyc L_cyc

and D also minimises the R1 penalty weighted by λ_reg (the paper's γ). The
official code (clovaai/stargan-v2 core/solver.py) reduces every term to a mean:
over the batch for the adversarial and R1 terms, over every element for the
L1 terms. Every loss is computed in float32 (R1 in float64 for float64
gradients), whatever its inputs' dtype.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from training.gan_losses import mean_absolute_error, sigmoid_cross_entropy


def adversarial_loss(logits, target: int):
    """Eq. 1, one side of it at a time:

        L_adv = E_{x,y} [log D_y(x)] + E_{x,ỹ,z} [log(1 − D_ỹ(G(x, s̃)))]

    as the official `adv_loss`: the binary cross-entropy of the logits against
    the constant `target` (1: real, 0: generated), mean over the batch. D
    minimises it with target 1 on real images and 0 on G's; G minimises the
    non-saturating form, target 1 on its own images.
    """
    if target not in (0, 1):
        raise ValueError(f"target must be 0 or 1, got {target!r}")
    logits = ops.cast(logits, "float32")
    return ops.mean(sigmoid_cross_entropy(ops.full_like(logits, float(target)), logits))


def r1_penalty(gradients):
    """The R1 regularisation (Mescheder et al. 2018; the paper's appendix) from ∂D_y(x)/∂x at real images x:

        R1 = (γ / 2) E_x [ ||∇_x D_y(x)||² ]

    without γ (λ_reg weights it): 0.5 × the mean over the batch of each
    image's sum of squared gradients, as the official `r1_reg`. In float32, or
    float64 for float64 gradients.
    """
    gradients = ops.cast(gradients, keras.backend.result_type(gradients.dtype, "float32"))
    per_image = ops.sum(ops.reshape(ops.square(gradients), (ops.shape(gradients)[0], -1)), axis=1)
    return 0.5 * ops.mean(per_image)


def logits_and_r1_penalty(discriminate, images):
    """(`discriminate(images)`, its `r1_penalty` at `images`): the logits D_y(x) of real images and the
    penalty of their gradients, which stays differentiable with respect to D's weights when called
    under an outer tape (the penalty's gradient is a second derivative)."""
    images = ops.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = discriminate(images)
        # The official differentiates logits.sum(): each image's logit depends on that image alone.
        total = ops.sum(logits)
    return logits, r1_penalty(tape.gradient(total, images))


def style_reconstruction_loss(predicted_styles, target_styles):
    """Eq. 2: L_sty = E_{x,ỹ,z} [ ||s̃ − E_ỹ(G(x, s̃))||_1 ], the mean over every element of
    |E_ỹ(G(x, s̃)) − s̃| (official: `torch.mean(torch.abs(s_pred - s_trg))`)."""
    return mean_absolute_error(predicted_styles, target_styles)


def diversity_loss(fakes, second_fakes):
    """Eq. 3: L_ds = E_{x,ỹ,z1,z2} [ ||G(x, s̃1) − G(x, s̃2)||_1 ], the mean over every element.

    G maximises it (eq. 5 subtracts it). As in the official code, the second
    translation G(x, s̃2) is a constant (`x_fake2.detach()`): only the first
    receives gradients.
    """
    return mean_absolute_error(fakes, ops.stop_gradient(second_fakes))


def cycle_loss(reconstructed, real):
    """Eq. 4: L_cyc = E_{x,y,ỹ,z} [ ||x − G(G(x, s̃), ŝ)||_1 ] with ŝ = E_y(x) the source's own style:
    the mean over every element of |G(G(x, s̃), ŝ) − x|."""
    return mean_absolute_error(reconstructed, real)


def diversity_weight(initial_weight: float, decay_steps: int, step):
    """λ_ds of iteration `step` (0-based: the number of iterations completed before it), float32:

        λ_ds(t) = λ_ds · max(0, 1 − t / ds_iter)

    The official code subtracts λ_ds / ds_iter after every iteration, so its
    iteration t (0-based) weights L_ds by λ_ds (1 − t / ds_iter), and every
    iteration from ds_iter on by 0 (it stops subtracting once the weight is
    no longer positive).
    """
    remaining = 1.0 - ops.cast(step, "float32") / float(decay_steps)
    return float(initial_weight) * ops.maximum(remaining, 0.0)
