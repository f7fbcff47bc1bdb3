"""Learning-rate schedules and optimizers from the config (`training.flags`).

Schedules count optimizer steps (`optimizer.iterations`), so a resumed run,
whose optimizers are restored with their iterations, continues its schedule.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="training")
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """Constant `initial_learning_rate` for `decay_start_step` steps, then linear to 0 at `decay_end_step`.

    CycleGAN's "100 epochs at 2e-4, then 100 epochs of linear decay to 0".
    """

    def __init__(self, initial_learning_rate: float, decay_start_step: int, decay_end_step: int):
        if not 0 <= decay_start_step < decay_end_step:
            raise ValueError(
                f"linear decay needs 0 <= decay_start_step < decay_end_step, got {decay_start_step}, {decay_end_step}"
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_start_step = int(decay_start_step)
        self.decay_end_step = int(decay_end_step)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        progress = (step - self.decay_start_step) / (self.decay_end_step - self.decay_start_step)
        return self.initial_learning_rate * (1.0 - keras.ops.clip(progress, 0.0, 1.0))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_start_step": self.decay_start_step,
            "decay_end_step": self.decay_end_step,
        }


@keras.saving.register_keras_serializable(package="training")
class TriangularCyclic(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate, triangular policy (Smith 2017).

    Starts at `min_learning_rate`, rises linearly to `max_learning_rate` at half
    of `period_steps`, falls back to the minimum at `period_steps`, and repeats.
    """

    def __init__(self, min_learning_rate: float, max_learning_rate: float, period_steps: float):
        if period_steps <= 0:
            raise ValueError(f"the cyclic period must be positive, got {period_steps} steps")
        self.min_learning_rate = float(min_learning_rate)
        self.max_learning_rate = float(max_learning_rate)
        self.period_steps = float(period_steps)

    def __call__(self, step):
        phase = keras.ops.mod(keras.ops.cast(step, "float32"), self.period_steps) / self.period_steps
        height = 1.0 - keras.ops.abs(2.0 * phase - 1.0)  # 0 -> 1 -> 0 over one period
        return self.min_learning_rate + (self.max_learning_rate - self.min_learning_rate) * height

    def get_config(self):
        return {
            "min_learning_rate": self.min_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "period_steps": self.period_steps,
        }


def make_learning_rate(config: dict, steps_per_epoch: int, learning_rate: float | None = None):
    """`config["lr_schedule"]` as a float (constant) or a `LearningRateSchedule` over optimizer steps.

    `learning_rate` (default `config["learning_rate"]`) is the rate the schedule
    starts from (peaks at, for cyclic): one player's own rate, say.
    """
    learning_rate = config["learning_rate"] if learning_rate is None else learning_rate
    total_steps = config["epochs"] * steps_per_epoch
    schedule = config["lr_schedule"]
    if schedule == "constant":
        return learning_rate
    if schedule == "linear_decay":
        return LinearDecayAfter(learning_rate, config["decay_start_epoch"] * steps_per_epoch, total_steps)
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=total_steps, alpha=config["min_learning_rate"] / learning_rate
        )
    if schedule == "cyclic":
        return TriangularCyclic(
            config["min_learning_rate"], learning_rate, config["cyclic_period_epochs"] * steps_per_epoch
        )
    raise ValueError(f"unknown lr_schedule {schedule!r}; expected constant, linear_decay, cosine or cyclic")


@keras.saving.register_keras_serializable(package="training")
class FusedAdam(keras.optimizers.Adam):
    """Keras's Adam, each variable's update one fused TensorFlow kernel (`ResourceApplyAdam`).

    The same arithmetic (m += (1 - β1)(g - m), v += (1 - β2)(g² - v),
    w -= lr √(1 - β2^t) / (1 - β1^t) · m / (√v + ε)), but the weight, its
    gradient and its two moments are each read and written once, where Keras's
    update writes a temporary the size of the weight per operation. Adam is
    bound by memory traffic: U-GAT-IT's full generators hold two 268M-weight
    layers, whose updates then take several gigabytes of temporaries and most
    of a CPU step. AMSGrad keeps Keras's update.

    `apply_factored` takes some weights' gradients as two small factors,
    left^T right (a Dense kernel's X^T dY over its uses, from
    `training.kernel_gradients`), and builds and applies them one weight at a
    time: a kernel kept as row blocks, each its own variable, never has more
    than one block's gradient alive.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = keras.ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = keras.ops.cast(self.beta_1, dtype), keras.ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].handle,
            v=self._velocities[index].handle,
            beta1_power=keras.ops.power(beta_1, step),
            beta2_power=keras.ops.power(beta_2, step),
            lr=keras.ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=keras.ops.cast(self.epsilon, dtype),
            grad=keras.ops.cast(gradient, dtype),
        )

    def supports_factored_gradients(self) -> bool:
        """Whether `apply_factored` gives `apply`'s step: no AMSGrad, clipping, moving average, gradient
        accumulation or decoupled weight decay, and no distribution strategy (whose `apply` sums the replicas'
        gradients)."""
        return not (
            self.amsgrad
            or self.clipnorm
            or self.global_clipnorm
            or self.clipvalue
            or self.use_ema
            or self.gradient_accumulation_steps
            or self._decays_decoupled()
            or tf.distribute.has_strategy()
        )

    def _decays_decoupled(self) -> bool:
        """Keras's `weight_decay` is decoupled: `apply` decays the weights beside the update."""
        return bool(self.weight_decay)

    def apply_factored(self, gradients: list, variables: list, factors: dict) -> None:
        """`apply(gradients, variables)` where, for each index i in `factors`, the gradient of `variables[i]`
        is left^T @ right of `factors[i] = (left, right)` ([rows, inputs] and [rows, units]) and
        `gradients[i]` is not read.

        Each factored weight's gradient is built and given to `update_step` (Adam's fused step, with the
        coupled decay of `CoupledAdam`) only once the previous factored weight is updated, and the first
        only once every other gradient exists, so the backward pass is done with the weights. Then the
        other variables take `apply`'s step, which counts the iteration: the factored updates read the same
        learning rate and step count.
        """
        _build_once(self, variables)
        learning_rate = self._get_current_learning_rate()
        dense = [pair for index, pair in enumerate(zip(gradients, variables)) if index not in factors]
        after = [gradient for gradient, _ in dense if gradient is not None]
        for index, (left, right) in factors.items():
            variable = variables[index]
            with tf.control_dependencies(after):
                gradient = tf.matmul(left, right, transpose_a=True)
                if self.loss_scale_factor is not None:
                    gradient = gradient / self.loss_scale_factor
                self.update_step(keras.ops.cast(gradient, variable.dtype), variable, learning_rate)
                if variable.constraint is not None:
                    variable.assign(variable.constraint(variable))
            # A read of the updated weight, ordered after its update (same variable): what the next waits for.
            after = [tf.raw_ops.ReadVariableOp(resource=variable.handle, dtype=variable.dtype)]
        if dense:
            self.apply([gradient for gradient, _ in dense], [variable for _, variable in dense])
        else:
            self.iterations.assign_add(1)  # what `apply` counts, which does nothing without gradients


class _CoupledWeightDecay:
    """Mixin of a Keras optimizer: weight decay added to the gradient (g + wd * w), not to the weights.

    PyTorch's `Adam(weight_decay=wd)` and `SGD(weight_decay=wd)` decay this
    way, so the decay passes through Adam's moments; Keras decays decoupled
    (w -= lr * wd * w beside the update, AdamW). The gradient reaching
    `update_step` is already unscaled and summed over the replicas, so the
    decay is added once per step, under any strategy and loss scaling.

    g + wd·w is computed as (g / wd + w)·wd: each of those operations may
    write into its first input's buffer, the gradient's, where wd·w needs a
    new tensor the size of the weight (1 GB for each of U-GAT-IT's two
    full-mode MLP kernels, updated side by side).
    """

    def _apply_weight_decay(self, variables):
        """Nothing: `update_step` adds the decay to the gradient instead."""

    def _decays_decoupled(self) -> bool:
        return False

    def update_step(self, gradient, variable, learning_rate):
        if self.weight_decay and self._use_weight_decay(variable):
            decay = keras.ops.cast(self.weight_decay, variable.dtype)
            gradient = (gradient / decay + variable) * decay
        super().update_step(gradient, variable, learning_rate)


@keras.saving.register_keras_serializable(package="training")
class CoupledAdam(_CoupledWeightDecay, FusedAdam):
    """Adam whose `weight_decay` is added to the gradient, as PyTorch's `Adam(weight_decay=...)`."""


@keras.saving.register_keras_serializable(package="training")
class CoupledSGD(_CoupledWeightDecay, keras.optimizers.SGD):
    """SGD whose `weight_decay` is added to the gradient, as PyTorch's `SGD(weight_decay=...)`."""


@keras.saving.register_keras_serializable(package="training")
class FactoredLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras's `LossScaleOptimizer`, which also passes factored gradients (`FusedAdam.apply_factored`) to an
    inner optimizer that takes them, so mixed_float16 does not build a factored kernel's gradient whole."""

    def supports_factored_gradients(self) -> bool:
        inner = self.inner_optimizer
        return isinstance(inner, FusedAdam) and inner.supports_factored_gradients()

    def apply_factored(self, gradients: list, variables: list, factors: dict) -> None:
        """`apply` with some gradients as factors (`FusedAdam.apply_factored`'s arguments, scaled by the
        loss scale).

        The step is taken, each gradient and each factored product's right factor divided by the scale,
        when every gradient and factor is finite and no factored product can overflow float32
        (max|left| · max|right| · rows below float32's largest: X^T dY is never built whole to look at);
        otherwise it is skipped and the scale halved, as `apply` does for a gradient that is not finite.
        """
        _build_once(self, variables)
        dense = [gradient for index, gradient in enumerate(gradients) if index not in factors]
        finite = keras.ops.logical_and(self.check_finite(dense), _products_stay_finite(factors.values()))

        def take_the_step():
            scale = self.dynamic_scale
            unscaled = [gradient if gradient is None else gradient / scale for gradient in gradients]
            unscaled_factors = {index: (left, right / scale) for index, (left, right) in factors.items()}
            self.inner_optimizer.apply_factored(unscaled, variables, unscaled_factors)
            # Keras's bookkeeping of a finite step (count it; double the scale every dynamic_growth_steps), its
            # inner `apply` given no gradients, which does nothing.
            self._stateful_handle_finite_grads([], [])

        keras.ops.cond(finite, take_the_step, self._stateful_handle_non_finite_grads)


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


# {(optimizer, weight_decay_mode, or None without weight decay): the optimizer class}
_OPTIMIZER_CLASSES = {
    ("adam", None): FusedAdam,
    ("adam", "decoupled"): keras.optimizers.AdamW,
    ("adam", "coupled"): CoupledAdam,
    ("sgd", None): keras.optimizers.SGD,
    ("sgd", "decoupled"): keras.optimizers.SGD,
    ("sgd", "coupled"): CoupledSGD,
}


def make_optimizer(
    config: dict, steps_per_epoch: int, name: str | None = None, learning_rate: float | None = None
) -> keras.optimizers.Optimizer:
    """A new optimizer for one player: call it once per network that trains on its own.

    `learning_rate` (default `config["learning_rate"]`) is this player's rate
    (`config["g_learning_rate"]`, say); `config["lr_schedule"]` shapes it.
    adam -> Adam(beta_1, beta_2); sgd -> SGD(momentum). With `weight_decay` > 0,
    `weight_decay_mode` decoupled gives AdamW / SGD(weight_decay), which decay
    the weights beside the update (w -= lr * weight_decay * w); coupled gives
    `CoupledAdam` / `CoupledSGD`, which add weight_decay * w to the gradient
    as PyTorch's Adam(weight_decay=...) used by the U-GAT-IT authors does.
    Under the mixed_float16 policy the optimizer is wrapped in a
    `FactoredLossScaleOptimizer` (Keras's `LossScaleOptimizer`, taking
    factored gradients too): Keras wraps only `model.optimizer` by itself.
    """
    kind = config["optimizer"]
    if kind == "adam":
        settings = {"beta_1": config["beta_1"], "beta_2": config["beta_2"]}
    elif kind == "sgd":
        settings = {"momentum": config["momentum"]}
    else:
        raise ValueError(f"unknown optimizer {kind!r}; expected adam or sgd")
    decay_mode = config["weight_decay_mode"] if config["weight_decay"] else None
    if decay_mode:
        settings["weight_decay"] = config["weight_decay"]
    optimizer = _OPTIMIZER_CLASSES[kind, decay_mode](
        make_learning_rate(config, steps_per_epoch, learning_rate), name=name, **settings
    )
    if keras.config.dtype_policy().name == "mixed_float16":
        optimizer = FactoredLossScaleOptimizer(optimizer)
    return optimizer
