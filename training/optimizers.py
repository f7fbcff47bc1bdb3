"""Optimizers from the config (`training.flags`): Adam or SGD, weight decay coupled or decoupled, loss scaling.

`make_optimizer` gives each player its own optimizer, on a learning rate
from `training.schedules`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from training import keras_internals
from training.schedules import make_learning_rate


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
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        momentum, velocity = keras_internals.adam_moments(self, variable)
        step = keras.ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = keras.ops.cast(self.beta_1, dtype), keras.ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=momentum.handle,
            v=velocity.handle,
            beta1_power=keras.ops.power(beta_1, step),
            beta2_power=keras.ops.power(beta_2, step),
            lr=keras.ops.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=keras.ops.cast(self.epsilon, dtype),
            grad=keras.ops.cast(gradient, dtype),
        )


class _CoupledWeightDecay(keras_internals.WithoutDecoupledWeightDecay):
    """Mixin of a Keras optimizer: weight decay added to the gradient (g + wd * w), not to the weights.

    PyTorch's `Adam(weight_decay=wd)` and `SGD(weight_decay=wd)` decay this
    way, so the decay passes through Adam's moments; Keras decays decoupled
    (w -= lr * wd * w beside the update, AdamW), which the mixin turns off.
    The gradient reaching `update_step` is already unscaled and summed over
    the replicas, so the decay is added once per step, under any strategy and
    loss scaling. wd·w is a temporary the size of the weight, alive for its
    update: 64 MB at most in U-GAT-IT's full mode, whose 1 GB MLP kernels are
    updated one 64 MB row block at a time.
    """

    def update_step(self, gradient, variable, learning_rate):
        if self.weight_decay and keras_internals.decays(self, variable):
            decay = keras.ops.cast(self.weight_decay, variable.dtype)
            gradient = gradient + decay * variable
        super().update_step(gradient, variable, learning_rate)


@keras.saving.register_keras_serializable(package="training")
class CoupledAdam(_CoupledWeightDecay, FusedAdam):
    """Adam whose `weight_decay` is added to the gradient, as PyTorch's `Adam(weight_decay=...)`."""


@keras.saving.register_keras_serializable(package="training")
class CoupledSGD(_CoupledWeightDecay, keras.optimizers.SGD):
    """SGD whose `weight_decay` is added to the gradient, as PyTorch's `SGD(weight_decay=...)`."""


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
    Under the mixed_float16 policy the optimizer is wrapped in Keras's
    `LossScaleOptimizer`: Keras wraps only `model.optimizer` by itself.
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
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
