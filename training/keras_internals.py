"""Every private Keras member the project uses, behind small named functions and mixins.

Written against Keras 3.15 (TensorFlow backend). Keras may rename or rewire
a private member in any release; each one used here has its test in
`tests/training/test_keras_internals.py`, which then fails naming the
member and the Keras version, instead of a train step going quietly wrong.
Nothing outside this module reaches into Keras's private members.
"""

from __future__ import annotations

import io

import keras

WRITTEN_FOR_KERAS = "3.15"


def adam_moments(optimizer: keras.optimizers.Adam, variable) -> tuple:
    """(m, v): the first and second moment variables `optimizer` keeps for `variable`.

    Keras 3.15's `Adam._momentums` and `Adam._velocities`, indexed by
    `BaseOptimizer._get_variable_index(variable)`.
    """
    index = optimizer._get_variable_index(variable)
    return optimizer._momentums[index], optimizer._velocities[index]


def current_learning_rate(optimizer: keras.optimizers.Optimizer):
    """The learning rate `optimizer.apply` uses for its next step: a schedule evaluated at `iterations`.

    Keras 3.15's `BaseOptimizer._get_current_learning_rate()`.
    """
    return optimizer._get_current_learning_rate()


def decays(optimizer: keras.optimizers.Optimizer, variable) -> bool:
    """Whether `optimizer`'s weight decay applies to `variable` (not excluded by `exclude_from_weight_decay`).

    Keras 3.15's `BaseOptimizer._use_weight_decay(variable)`.
    """
    return optimizer._use_weight_decay(variable)


class WithoutDecoupledWeightDecay:
    """Mixin of a Keras optimizer whose `apply` does not decay the weights beside the update.

    Overrides Keras 3.15's `BaseOptimizer._apply_weight_decay(variables)`
    (which the TensorFlow backend's optimizer also defines), the step `apply`
    takes after the updates, w -= lr · weight_decay · w. Put it before the
    Keras optimizer class in the bases.
    """

    def _apply_weight_decay(self, variables):
        """Nothing: the optimizer decays the weights its own way."""


def count_finite_loss_scaled_step(optimizer: keras.optimizers.LossScaleOptimizer) -> None:
    """A `LossScaleOptimizer`'s bookkeeping after a finite step its inner optimizer took without its `apply`:
    the step counted, the scale doubled every `dynamic_growth_steps`.

    Keras 3.15's `LossScaleOptimizer._stateful_handle_finite_grads(grads, trainable_variables)`, given no
    gradients, so the inner `apply` it calls does nothing.
    """
    optimizer._stateful_handle_finite_grads([], [])


def skip_non_finite_loss_scaled_step(optimizer: keras.optimizers.LossScaleOptimizer) -> None:
    """A `LossScaleOptimizer`'s bookkeeping of a step skipped for a gradient that is not finite: the scale
    halved, the count of finite steps reset.

    Keras 3.15's `LossScaleOptimizer._stateful_handle_non_finite_grads()`.
    """
    optimizer._stateful_handle_non_finite_grads()


class _InMemoryWeightsFile(io.BytesIO):
    """A buffer that `save_weights` takes for a `.weights.h5` file: Keras 3.15 checks the suffix on
    `str(filepath)` only, and its `saving_lib.H5IOStore` writes into any `io.BytesIO`."""

    def __str__(self):
        return "in-memory.weights.h5"


def weights_file_in_memory(model: keras.Model) -> io.BytesIO:
    """What `model.save_weights(path)` would write to a `.weights.h5` file, in a buffer (open, at any position).

    HDF5 then never writes to the disk itself: a write that fails on a full
    disk leaves Keras 3.15's HDF5 file open and HDF5's state broken, and the
    process crashes with a segmentation fault when HDF5 next touches it.
    """
    buffer = _InMemoryWeightsFile()
    model.save_weights(buffer)
    return buffer


class TensorBoardHooks(keras.callbacks.TensorBoard):
    """Keras's TensorBoard with the private hooks a subclass overrides under public names.

    - `count_batches_from(step)` sets Keras 3.15's `TensorBoard._global_train_batch`, the step the next
      batch_* scalars are numbered after;
    - `log_epoch_metrics(epoch, logs)` is what Keras 3.15 calls as `TensorBoard._log_epoch_metrics` to write
      the epoch_* scalars;
    - `collect_learning_rate(logs)` is what Keras 3.15 calls as `TensorBoard._collect_learning_rate` to add
      the learning rate to the epoch logs.
    """

    def count_batches_from(self, step: int) -> None:
        self._global_train_batch = step

    def log_epoch_metrics(self, epoch, logs):
        super()._log_epoch_metrics(epoch, logs)

    def collect_learning_rate(self, logs):
        return super()._collect_learning_rate(logs)

    def _log_epoch_metrics(self, epoch, logs):
        self.log_epoch_metrics(epoch, logs)

    def _collect_learning_rate(self, logs):
        return self.collect_learning_rate(logs)
