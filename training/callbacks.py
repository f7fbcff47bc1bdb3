"""Callbacks every model trains with besides the backup (`training.backup`): NaN guard, TensorBoard, grids, losses.

The Keras callbacks fall short for a GAN: `TerminateOnNaN` looks only at
`logs["loss"]`, which a GAN does not have; `TensorBoard` with `update_freq=N`
drops the epoch_* scalars of epochs whose last step is not a multiple of N,
numbers per-step scalars from 1 in every `fit` call, and logs only
`model.optimizer`'s learning rate.
"""

from __future__ import annotations

import json

import keras
import tensorflow as tf

from preprocessing import atomic_files
from training.backup import ResumableBackup, is_finite, model_optimizers
from training.ema import averages_swapped_in
from training.images import grid_image, plot_losses, save_animation, save_grid_png, to_unit_range
from training.keras_internals import TensorBoardHooks
from training.run import RunLayout


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first step with a NaN or infinite loss, naming the losses and the step.

    `message` says in one line what happened and where the last good state is
    (None while training is sound); `training.fit` raises `TrainingDiverged`
    with it once the other callbacks have finished.
    """

    def __init__(self, backup: ResumableBackup):
        super().__init__()
        self.backup = backup  # counts the steps and knows the last good state
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: float(value) for name, value in (logs or {}).items() if not is_finite(value)}
        if not bad:
            return
        step = self.backup.completed_steps
        epoch, step_in_epoch = divmod(step - 1, self.backup.steps_per_epoch)
        losses = ", ".join(f"{name}={value}" for name, value in bad.items())
        if self.backup.backed_up_step is None:
            last_good = "no good state was backed up yet; rerun with a new --run_dir"
        else:
            last_good = (
                f"the backup in {self.backup.backup_dir} holds the last good state, step {self.backup.backed_up_step}"
            )
        self.message = (
            f"Training diverged at step {step} (epoch {epoch + 1}, step {step_in_epoch + 1}): {losses}; {last_good}."
        )
        self.model.stop_training = True


class TensorBoardLogger(TensorBoardHooks):
    """Keras's TensorBoard: epoch_* scalars per epoch, batch_* every `every_n_steps` steps.

    Changed: epoch_* scalars are written for every epoch (Keras skips those of
    epochs whose last step is not a multiple of `every_n_steps`); batch_*
    scalars are numbered by the run's step (`backup.completed_steps`), so a
    resumed run continues its curves instead of overwriting them from step 1;
    every optimizer's learning rate is logged as `epoch_<name>_learning_rate`.
    As in Keras, batch_* values are the running means of the epoch so far.
    """

    def __init__(self, log_dir, every_n_steps: int, backup: ResumableBackup):
        super().__init__(str(log_dir), update_freq=every_n_steps, write_graph=False)
        self.backup = backup

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.count_batches_from(self.backup.completed_steps)  # after the backup's restore: it comes first

    def log_epoch_metrics(self, epoch, logs):
        # Keras leaves its per-step `record_if(step % update_freq == 0)` active here, which drops the
        # epoch_* scalars of every epoch whose last step is not a multiple of update_freq.
        with tf.summary.record_if(True):
            super().log_epoch_metrics(epoch, logs)

    def collect_learning_rate(self, logs):
        for name, optimizer in model_optimizers(self.model).items():
            logs[f"{name}_learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return logs


class ImageGridCallback(keras.callbacks.Callback):
    """Every `every_n_epochs` epochs (and at the last), draws `model.sample_grid(*fixed_inputs)`.

    Saves the run's grid PNG of each epoch that ends (1-based, as the progress bar
    counts; not of an epoch a NaN or a signal cut short) with one labelled row per named row, and logs the grid as the
    TensorBoard image "samples" in the run's tensorboard/images at step = epoch
    (0-based, as Keras's epoch_* scalars). When training ends, animates every
    grid PNG of the run (a resumed run's earlier ones too) into its grids.gif.

    A model that keeps a moving average of its generator weights
    (`--ema_decay`) draws with the averages.

    `fixed_inputs` are whatever `sample_grid` takes: real images for a
    translation model (`training.fit.take_fixed_inputs`), a fixed noise batch
    for a model that draws from noise.
    """

    def __init__(self, fixed_inputs, layout: RunLayout, every_n_epochs: int = 1):
        super().__init__()
        self.fixed_inputs = tuple(fixed_inputs)
        self.layout = layout
        self.every_n_epochs = every_n_epochs
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(str(self.layout.tensorboard_dir / "images"))

    def on_epoch_end(self, epoch, logs=None):
        is_last = epoch + 1 == self.params.get("epochs")
        if self.model.stop_training or ((epoch + 1) % self.every_n_epochs and not is_last):
            return  # an epoch cut short (a NaN, a SIGTERM) gets its grid when a rerun finishes it
        with averages_swapped_in(self.model):  # the generators' moving average, when the model keeps one
            rows = [(name, to_unit_range(images)) for name, images in self.model.sample_grid(*self.fixed_inputs)]
        save_grid_png(rows, self.layout.grid_path(epoch + 1), title=f"Epoch {epoch + 1}")
        # record_if(True): TensorBoardLogger's per-step condition is still active during on_epoch_end.
        with self._writer.as_default(), tf.summary.record_if(True):
            description = "Rows, top to bottom: " + ", ".join(name for name, _ in rows)
            tf.summary.image("samples", grid_image(rows)[None], step=epoch, description=description)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()
        frames = self.layout.grid_paths()
        if frames and not self.model.stop_training:  # a stopped run has seconds to exit; its rerun animates
            save_animation(frames, self.layout.grids_animation_path)


class LossPlotCallback(keras.callbacks.Callback):
    """Per-epoch logs -> the run's history (written every epoch, so it survives a kill) and loss plot (at the end).

    The history is {"epoch": [1, 2, ...], "<loss>": [...], ...}; a resumed run
    keeps the epochs the previous run finished. With `write=False` (a
    multi-worker run's other workers) it only collects the history.
    """

    def __init__(self, layout: RunLayout, write: bool = True):
        super().__init__()
        self.history_path = layout.history_path
        self.plot_path = layout.loss_plot_path
        self.write = write
        self.records = {}  # epoch (1-based) -> {name: value}
        if self.history_path.exists():
            history = json.loads(self.history_path.read_text())
            names = [name for name in history if name != "epoch"]
            self.records = {
                epoch: {name: history[name][index] for name in names} for index, epoch in enumerate(history["epoch"])
            }

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:  # cut short (a NaN, a SIGTERM): a rerun finishing the epoch records it
            return
        self.records[epoch + 1] = {name: float(value) for name, value in (logs or {}).items()}
        if self.write:
            atomic_files.write_text(self.history_path, json.dumps(self.history(), indent=1) + "\n")

    def on_train_end(self, logs=None):
        if self.write and self.records:
            plot_losses(self.history(), self.plot_path)

    def history(self) -> dict:
        epochs = sorted(self.records)
        names = sorted({name for record in self.records.values() for name in record})
        return {"epoch": epochs, **{name: [self.records[epoch].get(name) for epoch in epochs] for name in names}}
