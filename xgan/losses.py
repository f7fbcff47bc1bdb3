"""XGAN losses (Royer et al. 2018, arXiv 1711.05139, §3; report §6.2), one per equation.

Generator-side objective, with ω the loss weights:

    L_XGAN = ω_rec L_rec + ω_d L_dann + ω_s L_sem + ω_gan L_gan + ω_t L_teach

Scale: the paper writes distances as norms (||.||_2, ||.||). We average over
elements instead, as the report's code does (`tf.losses.mean_squared_error` for
L_rec, `reduce_mean(abs(.))` for L_sem). Both forms vanish exactly at perfect
reconstruction / consistency, and the means keep every term O(1) whatever the
image or embedding size, so the report's equal
weights (ω = 1) balance them. Summed norms of a 64x64x3 image (~10^2) and of a
1024-d embedding (~10^3) would drown the O(1) adversarial terms.

Reduction: every loss is the mean over the batch it is given. Under
`tf.distribute` each replica computes its local mean and
`training.gradients.scale_loss` divides it by the number of replicas before
differentiating; the optimiser sums the replicas' gradients, which then equal
the gradient of the mean over the global batch (replicas get equal shards).

Inputs may be float16 (mixed precision); every loss is computed in float32.
"""

from __future__ import annotations

from keras import ops

from training.gan_losses import (  # noqa: F401  (re-exported: the XGAN losses in one place)
    GAN_LOSSES,
    check_option,
    discriminator_loss,
    generator_adversarial_loss,
    sigmoid_cross_entropy,
)

SEMANTIC_DISTANCES = ("l1", "l2", "cosine")
RECONSTRUCTION_DISTANCES = ("l2", "l1")
DOMAIN_OBJECTIVES = ("confusion", "reversal")
_EPSILON = 1e-12  # keeps the cosine's division finite for a zero embedding

# c_dann's binary labels: domain 1 (faces) -> 0, domain 2 (cartoons) -> 1.
FACE_DOMAIN_LABEL = 0.0
CARTOON_DOMAIN_LABEL = 1.0


def _per_example(x):
    """[B, ...] -> float32 [B, N]."""
    x = ops.cast(x, "float32")
    return ops.reshape(x, (ops.shape(x)[0], -1))


def embedding_distance(a, b, distance: str = "l1"):
    """Per-example distance ||a - b|| between embeddings [B, D] -> [B].

    "l1": mean |a - b|; "l2": mean (a - b)^2; "cosine": 1 - cos(a, b).
    """
    check_option("distance", distance, SEMANTIC_DISTANCES)
    a, b = _per_example(a), _per_example(b)
    if distance == "l1":
        return ops.mean(ops.abs(a - b), axis=-1)
    if distance == "l2":
        return ops.mean(ops.square(a - b), axis=-1)
    norms = ops.sqrt(ops.sum(ops.square(a), axis=-1) * ops.sum(ops.square(b), axis=-1))
    return 1.0 - ops.sum(a * b, axis=-1) / ops.maximum(norms, _EPSILON)


def reconstruction_loss(images, reconstructions, distance: str = "l2"):
    """L_rec,d = E_{x~p_Dd} ||x - d_d(e_d(x))||_2, as the mean squared error over pixels and batch.

    Mean squared rather than the norm (see the module docstring): the report's
    code uses `tf.losses.mean_squared_error`. `distance="l1"` takes the mean
    absolute error instead, ||x - d_d(e_d(x))||_1: its gradient does not shrink
    with the error, so small details keep pulling once the coarse image is
    right, where the squared error settles for their average (a blur).
    """
    check_option("distance", distance, RECONSTRUCTION_DISTANCES)
    error = _per_example(images) - _per_example(reconstructions)
    return ops.mean(ops.square(error) if distance == "l2" else ops.abs(error))


def domain_adversarial_loss(face_logits, cartoon_logits):
    """L_dann = E_{p_D1} ℓ(1, c_dann(e_1(x))) + E_{p_D2} ℓ(2, c_dann(e_2(x))).

    ℓ is the binary cross-entropy of c_dann's logit, domain 1 (faces) labelled
    0 and domain 2 (cartoons) labelled 1. c_dann minimises it; the encoders,
    behind the gradient-reversal layer, maximise it.
    """
    face_term = ops.mean(sigmoid_cross_entropy(ops.full_like(face_logits, FACE_DOMAIN_LABEL), face_logits))
    cartoon_term = ops.mean(sigmoid_cross_entropy(ops.full_like(cartoon_logits, CARTOON_DOMAIN_LABEL), cartoon_logits))
    return face_term + cartoon_term


def domain_confusion_loss(face_logits, cartoon_logits):
    """L_conf = E_{p_D1} H(1/2, c_dann(e_1(x))) + E_{p_D2} H(1/2, c_dann(e_2(x))) (Tzeng et al. 2015, eq. 4).

    H is the cross-entropy against the uniform label 1/2: the encoders'
    alternative to maximising L_dann. Its minimum, 2 log 2, is where c_dann
    cannot tell the domains apart; unlike -L_dann it gives nothing for an
    embedding c_dann confidently puts in the wrong domain, which is how
    gradient reversal collapses every embedding of a domain onto one point.
    """
    return sum(
        ops.mean(sigmoid_cross_entropy(ops.full_like(logits, 0.5), logits)) for logits in (face_logits, cartoon_logits)
    )


def semantic_consistency_loss(embeddings, translated_embeddings, distance: str = "l1"):
    """L_sem,1->2 = E_{x~p_D1} ||e_1(x) - e_2(g_1->2(x))||, likewise L_sem,2->1.

    `embeddings` = e_1(x), `translated_embeddings` = e_2(g_1->2(x)); `distance`
    is "l1" (default), "l2" or "cosine" (see `embedding_distance`).
    """
    return ops.mean(embedding_distance(embeddings, translated_embeddings, distance))


def teacher_loss(embeddings, teacher_embeddings, distance: str = "l1"):
    """L_teach = E_{x~p_D1} ||T(x) - e_1(x)||, T a pre-trained teacher's embedding of the same image."""
    return ops.mean(embedding_distance(teacher_embeddings, embeddings, distance))
