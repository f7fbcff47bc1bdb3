"""The generator step's update with the MLP kernels' gradients as factors: one 64 MB kernel block at a time.

A `ugatit.kernel_gradients.KernelGradientRecording` gives each recorded
kernel block's gradient as two small factors, left^T right (X^T dY over the
block's uses). `apply_recorded_gradients` hands them to an optimizer that
takes them, a `training.optimizers.FusedAdam` (or Keras's
`LossScaleOptimizer` around one, under mixed_float16), which builds each
block's gradient and applies it, Adam's fused in-place step, only once the
previous block is updated: the step never holds more than one block's
gradient. Any other optimizer is given the gradients multiplied out.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from training import keras_internals
from training.optimizers import CoupledAdam, FusedAdam
from ugatit.kernel_gradients import KernelGradientRecording


def apply_recorded_gradients(tape, optimizer, scaled_loss, variables, recording: KernelGradientRecording) -> None:
    """`training.gradients.apply_gradients` for a loss whose forward pass `recording` (of `tape`) watched: the
    recorded kernel blocks' gradients as factors where `optimizer` takes them, as X^T dY otherwise."""
    if takes_factored_gradients(optimizer):
        gradients, factors = recording.gradient_factors(scaled_loss, variables)
        apply_factored(optimizer, gradients, variables, factors)
    else:
        optimizer.apply(recording.gradients(scaled_loss, variables), variables)


def takes_factored_gradients(optimizer) -> bool:
    """Whether `apply_factored` gives `optimizer.apply`'s step: a `FusedAdam`, alone or in a `LossScaleOptimizer`,
    without AMSGrad, clipping, moving average, gradient accumulation or decoupled weight decay (which `apply`
    takes beside the update), and outside a distribution strategy (whose `apply` sums the replicas' gradients)."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return isinstance(optimizer, FusedAdam) and not (
        optimizer.amsgrad
        or optimizer.clipnorm
        or optimizer.clipvalue
        or optimizer.global_clipnorm
        or optimizer.use_ema
        or optimizer.gradient_accumulation_steps
        or (optimizer.weight_decay and not isinstance(optimizer, CoupledAdam))
        or tf.distribute.has_strategy()
    )


def apply_factored(optimizer, gradients: list, variables: list, factors: dict) -> None:
    """`optimizer.apply(gradients, variables)` where, for each index i in `factors`, the gradient of
    `variables[i]` is left^T @ right of `factors[i] = (left, right)` ([rows, inputs] and [rows, units]) and
    `gradients[i]` is not read. `optimizer` is one that `takes_factored_gradients`."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        _apply_factored_loss_scaled(optimizer, gradients, variables, factors)
    else:
        _apply_factored_adam(optimizer, gradients, variables, factors)


def _apply_factored_adam(optimizer: FusedAdam, gradients: list, variables: list, factors: dict) -> None:
    """Each factored weight's gradient is built and given to `update_step` (Adam's fused step, with the coupled
    decay of `CoupledAdam`) only once the previous factored weight is updated, and the first only once every
    other gradient exists, so the backward pass is done with the weights. Then the other variables take
    `apply`'s step, which counts the iteration: the factored updates read the same learning rate and step
    count."""
    _build_once(optimizer, variables)
    learning_rate = keras_internals.current_learning_rate(optimizer)
    dense = [pair for index, pair in enumerate(zip(gradients, variables)) if index not in factors]
    after = [gradient for gradient, _ in dense if gradient is not None]
    for index, (left, right) in factors.items():
        variable = variables[index]
        with tf.control_dependencies(after):
            gradient = tf.matmul(left, right, transpose_a=True)
            if optimizer.loss_scale_factor is not None:
                gradient = gradient / optimizer.loss_scale_factor
            optimizer.update_step(keras.ops.cast(gradient, variable.dtype), variable, learning_rate)
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable))
        # A read of the updated weight, ordered after its update (same variable): what the next waits for.
        after = [tf.raw_ops.ReadVariableOp(resource=variable.handle, dtype=variable.dtype)]
    if dense:
        optimizer.apply([gradient for gradient, _ in dense], [variable for _, variable in dense])
    else:
        optimizer.iterations.assign_add(1)  # what `apply` counts, which does nothing without gradients


def _apply_factored_loss_scaled(
    optimizer: keras.optimizers.LossScaleOptimizer, gradients: list, variables: list, factors: dict
) -> None:
    """`apply` of a `LossScaleOptimizer` with some gradients as factors (scaled by the loss scale).

    The step is taken, each gradient and each factored product's right factor divided by the scale, when
    every gradient and factor is finite and no factored product can overflow float32 (max|left| · max|right|
    · rows below float32's largest: X^T dY is never built whole to look at); otherwise it is skipped and the
    scale halved, as `apply` does for a gradient that is not finite.
    """
    _build_once(optimizer, variables)
    dense = [gradient for index, gradient in enumerate(gradients) if index not in factors]
    finite = keras.ops.logical_and(optimizer.check_finite(dense), _products_stay_finite(factors.values()))

    def take_the_step():
        scale = optimizer.dynamic_scale
        unscaled = [gradient if gradient is None else gradient / scale for gradient in gradients]
        unscaled_factors = {index: (left, right / scale) for index, (left, right) in factors.items()}
        _apply_factored_adam(optimizer.inner_optimizer, unscaled, variables, unscaled_factors)
        keras_internals.count_finite_loss_scaled_step(optimizer)

    keras.ops.cond(finite, take_the_step, lambda: keras_internals.skip_non_finite_loss_scaled_step(optimizer))


def _products_stay_finite(factors):
    """Whether every factor is finite and no left^T right can reach float32's largest value."""
    largest = tf.float32.max
    checks = [tf.constant(True)]
    for left, right in factors:
        left, right = tf.cast(left, "float32"), tf.cast(right, "float32")
        bound = tf.reduce_max(tf.abs(left)) * tf.reduce_max(tf.abs(right)) * tf.cast(tf.shape(left)[0], "float32")
        checks.append(tf.math.is_finite(bound) & (bound < largest))
    return tf.reduce_all(tf.stack(checks))


def _build_once(optimizer, variables) -> None:
    """Build `optimizer` on `variables` unless it is built, as Keras's `apply` does on its first call."""
    if not optimizer.built:
        with keras.name_scope(optimizer.name, caller=optimizer):
            optimizer.build(variables)
        optimizer.built = True
