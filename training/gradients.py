"""Loss -> gradients -> update, done the same way by every model package.

A GAN keeps one optimiser per player, so Keras's own loss scaling (which only
wraps `model.optimizer`) does not apply. Each `train_step` does, per player:

    with tf.GradientTape() as tape:
        loss = ...                                    # mean over this replica's batch
        scaled = gradients.scale_loss(optimizer, loss)
    gradients.apply_gradients(tape, optimizer, scaled, variables)

which is correct on one device or many, in float32 or mixed precision.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def scale_loss(optimizer, loss):
    """What to differentiate instead of `loss`; call it inside the tape.

    - Divides by the number of replicas: `optimizer.apply` sums the replicas'
      gradients, so each replica contributes its share of the global-batch mean
      (as Keras's built-in `train_step` does).
    - Multiplies by the loss scale when `optimizer` is a
      `keras.optimizers.LossScaleOptimizer` (mixed_float16), so small float16
      gradients do not underflow; its `apply` divides the scale back out and
      skips the step if a gradient is not finite.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / tf.cast(replicas, loss.dtype)
    return optimizer.scale_loss(loss)


def apply_gradients(tape, optimizer, scaled_loss, variables):
    """Outside the tape: gradients of `scaled_loss` (from `scale_loss`) -> `optimizer.apply`."""
    optimizer.apply(tape.gradient(scaled_loss, variables), variables)


def scales_losses(optimizers) -> bool:
    """Whether any of `optimizers` scales its loss (a `keras.optimizers.LossScaleOptimizer`, mixed_float16):
    then `apply_gradients_of_one_loss` differentiates once per optimizer, from a persistent tape."""
    return any(isinstance(optimizer, keras.optimizers.LossScaleOptimizer) for optimizer in optimizers)


def apply_gradients_of_one_loss(tape, updates) -> None:
    """One loss minimised by several optimizers, each on its own variables (StarGAN v2's generator, mapping
    network and style encoder): `updates` is [(optimizer, scale_loss(optimizer, loss), variables)].

    Without loss scaling every scaled loss is the same loss / replicas, so one backward pass gives every
    optimizer its gradients. With it each optimizer's scale differs, and each scaled loss is differentiated
    on its own: open the tape with `persistent=scales_losses(optimizers)`.
    """
    if scales_losses(optimizer for optimizer, _, _ in updates):
        for optimizer, scaled_loss, variables in updates:
            apply_gradients(tape, optimizer, scaled_loss, variables)
        return
    every_variable = [variable for _, _, variables in updates for variable in variables]
    every_gradient = tape.gradient(updates[0][1], every_variable)
    start = 0
    for optimizer, _, variables in updates:
        optimizer.apply(every_gradient[start : start + len(variables)], variables)
        start += len(variables)
