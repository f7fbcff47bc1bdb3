"""The private members of Keras's TensorBoard that `TensorBoardLogger` overrides still do what it relies on.

A Keras release may rename or rewire private members; the overrides would
then stop working without an error. This test fails naming the behaviour
that changed. (`ResumableBackup` overrides nothing private: it is a plain
`keras.callbacks.Callback`.)
"""

from __future__ import annotations

import keras
import numpy as np

from tests.training.conftest import event_files, read_events


def test_keras_tensorboard_still_works_the_way_tensorboard_logger_overrides_it(tmp_path):
    calls = []

    class Recorder(keras.callbacks.TensorBoard):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self._global_train_batch = 10  # what TensorBoardLogger does to continue a resumed run's curves

        def _log_epoch_metrics(self, epoch, logs):
            calls.append(f"_log_epoch_metrics({epoch})")
            super()._log_epoch_metrics(epoch, logs)

        def _collect_learning_rate(self, logs):
            calls.append("_collect_learning_rate")
            return super()._collect_learning_rate(logs)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    recorder = Recorder(str(tmp_path), update_freq=1, write_graph=False)
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), batch_size=2, epochs=1, callbacks=[recorder], verbose=0)

    keras_version = f"Keras {keras.__version__}'s TensorBoard"
    assert "_log_epoch_metrics(0)" in calls, (
        f"{keras_version} no longer writes the epoch scalars through _log_epoch_metrics(epoch, logs): "
        "TensorBoardLogger's fix for the epoch_* scalars Keras skips does nothing"
    )
    assert "_collect_learning_rate" in calls, (
        f"{keras_version} no longer adds the learning rate through _collect_learning_rate(logs): "
        "TensorBoardLogger logs no learning rate per optimizer"
    )
    batch_steps = sorted(read_events(event_files(tmp_path / "train")).get("batch_loss", {}))
    assert batch_steps == [11, 12], (
        f"{keras_version} no longer numbers its batch scalars by _global_train_batch (steps {batch_steps}): "
        "a resumed run's TensorBoard curves would restart at step 1"
    )
