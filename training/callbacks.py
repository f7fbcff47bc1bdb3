"""Callbacks every model trains with: backup and resume, NaN guard, TensorBoard, image grids (+ GIF), loss plot.

What Keras 3.15's `BackupAndRestore` does, and why `ResumableBackup` extends it:

- It saves `model.save_weights` (every Keras object the model holds as an
  attribute, so `g_optimizer` / `d_optimizer` with their iterations and
  slots) and `{"epoch", "batch"}`; on restart it loads the weights and starts
  `fit` at the saved epoch. The batch is recorded but never used: a backup
  taken mid-epoch replays that whole epoch, so the run takes more steps than
  asked and the schedules overshoot.
- An optimizer that is not built when the weights load is skipped with a mere
  warning, so its iterations silently restart at 0.
- It saves whatever the weights are (NaN included), and deletes the backup
  when `fit` ends, even after a NaN stopped it.

The other Keras callbacks fall short for a GAN too: `TerminateOnNaN` looks only
at `logs["loss"]`, which a GAN does not have; `TensorBoard` with
`update_freq=N` drops the epoch_* scalars of epochs whose last step is not a
multiple of N, numbers per-step scalars from 1 in every `fit` call, and logs
only `model.optimizer`'s learning rate.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import logging
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

BACKUP_WEIGHTS = "latest.weights.h5"
BACKUP_METADATA = "training_metadata.json"
GRIDS_ANIMATION = "grids.gif"


def model_optimizers(model: keras.Model) -> dict:
    """{attribute name: optimizer} of every optimizer the model holds, e.g. g_optimizer, d_optimizer."""
    return {name: value for name, value in vars(model).items() if isinstance(value, keras.optimizers.Optimizer)}


def backed_up_steps(backup_dir, steps_per_epoch: int) -> int:
    """Training steps completed by the state backed up in `backup_dir` (0 if there is none)."""
    path = Path(backup_dir) / BACKUP_METADATA
    if not path.exists():
        return 0
    metadata = json.loads(path.read_text())
    if metadata["steps_per_epoch"] != steps_per_epoch:
        raise ValueError(
            f"the backup in {backup_dir} was written with steps_per_epoch={metadata['steps_per_epoch']}; "
            f"resume with the same --steps_per_epoch, or start a new --run_dir"
        )
    return metadata["completed_steps"]


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that resumes at the step it stopped and never backs up a diverged state.

    - Counts `completed_steps` over the whole run and saves it; `training.fit`
      finishes an interrupted epoch with the steps it still lacks.
    - Backs up at every epoch end and, with `every_n_steps`, every N steps of the run.
    - Skips a backup whose logs or float weights are not finite, so the backup
      stays the last good state.
    - Writes the weights to a temporary file and renames it, so a run killed
      while saving keeps its previous backup.
    - Keeps the backup when training ends: rerunning a finished run does
      nothing, and a larger --epochs continues it.
    - Refuses to restore into unbuilt optimizers.
    """

    def __init__(self, backup_dir, steps_per_epoch: int, every_n_steps: int = 0):
        super().__init__(str(backup_dir), save_freq=every_n_steps or "epoch", delete_checkpoint=False)
        self.steps_per_epoch = steps_per_epoch
        self.completed_steps = 0
        self.backed_up_step = None
        self._steps_before_epoch = 0
        self._logs_finite = True

    def _load_model(self):
        if os.path.exists(self._weights_path):
            _require_built_optimizers(self.model)
        super()._load_model()
        self.completed_steps = backed_up_steps(self.backup_dir, self.steps_per_epoch)
        self.backed_up_step = self.completed_steps if os.path.exists(self._weights_path) else None

    def on_epoch_begin(self, epoch, logs=None):
        self._steps_before_epoch = self.completed_steps

    def on_train_batch_end(self, batch, logs=None):
        # `batch` counts from 0 in every fit() call, including the one finishing an interrupted epoch.
        self.completed_steps = self._steps_before_epoch + batch + 1
        self._logs_finite = _all_finite(logs)
        if self.save_freq != "epoch" and self.completed_steps % self.save_freq == 0:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._logs_finite = _all_finite(logs)
        self._save_model()

    def _save_model(self):
        if self.backed_up_step == self.completed_steps:
            return
        if not (self._logs_finite and _weights_finite(self.model)):
            logging.warning(
                "Not backing up step %d: its losses or weights are not finite; the backup stays at step %s.",
                self.completed_steps,
                self.backed_up_step,
            )
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        partial_path = os.path.join(self.backup_dir, "partial.weights.h5")
        self.model.save_weights(partial_path, overwrite=True)
        os.replace(partial_path, self._weights_path)
        metadata = {
            "epoch": self.completed_steps // self.steps_per_epoch,  # what Keras's restore reads
            "completed_steps": self.completed_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }
        partial_path = os.path.join(self.backup_dir, "partial_metadata.json")
        Path(partial_path).write_text(json.dumps(metadata))
        os.replace(partial_path, self._training_metadata_path)
        self.backed_up_step = self.completed_steps


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first step with a NaN or infinite loss, naming the losses and the step.

    `message` says what happened (None while training is sound); `training.fit`
    raises `TrainingDiverged` with it once the other callbacks have finished.
    """

    def __init__(self, backup: ResumableBackup):
        super().__init__()
        self.backup = backup  # counts the steps and knows the last good state
        self.message = None

    def on_train_batch_end(self, batch, logs=None):
        bad = {name: float(value) for name, value in (logs or {}).items() if not _is_finite(value)}
        if not bad:
            return
        step = self.backup.completed_steps
        epoch, step_in_epoch = divmod(step - 1, self.backup.steps_per_epoch)
        losses = ", ".join(f"{name}={value}" for name, value in bad.items())
        self.message = (
            f"Training diverged at step {step} (epoch {epoch + 1}, step {step_in_epoch + 1}): {losses}. "
            f"The backup in {self.backup.backup_dir} holds the last good state, step {self.backup.backed_up_step}."
        )
        print(self.message, flush=True)
        self.model.stop_training = True


class TensorBoardLogger(keras.callbacks.TensorBoard):
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
        self._global_train_batch = self.backup.completed_steps  # after the backup's restore: it comes first

    def _log_epoch_metrics(self, epoch, logs):
        # Keras leaves its per-step `record_if(step % update_freq == 0)` active here, which drops the
        # epoch_* scalars of every epoch whose last step is not a multiple of update_freq.
        with tf.summary.record_if(True):
            super()._log_epoch_metrics(epoch, logs)

    def _collect_learning_rate(self, logs):
        for name, optimizer in model_optimizers(self.model).items():
            logs[f"{name}_learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return logs


class ImageGridCallback(keras.callbacks.Callback):
    """Every `every_n_epochs` epochs (and at the last), draws `model.sample_grid(*fixed_inputs)`.

    Saves `<run_dir>/grids/epoch_0001.png` (1-based, as the progress bar counts)
    with one labelled row per named row, and logs the grid as the TensorBoard
    image "samples" in `<run_dir>/tensorboard/images` at step = epoch (0-based,
    as Keras's epoch_* scalars). When training ends, animates every grid PNG of
    the run (a resumed run's earlier ones too) into `<run_dir>/grids.gif`.

    `fixed_inputs` are whatever `sample_grid` takes: real images for a
    translation model (`training.fit.take_fixed_inputs`), a fixed noise batch
    for a model that draws from noise.
    """

    def __init__(self, fixed_inputs, run_dir, every_n_epochs: int = 1):
        super().__init__()
        self.fixed_inputs = tuple(fixed_inputs)
        self.grids_dir = Path(run_dir) / "grids"
        self.animation_path = Path(run_dir) / GRIDS_ANIMATION
        self.log_dir = Path(run_dir) / "tensorboard" / "images"
        self.every_n_epochs = every_n_epochs
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_end(self, epoch, logs=None):
        is_last = epoch + 1 == self.params.get("epochs")
        if (epoch + 1) % self.every_n_epochs and not is_last:
            return
        rows = [(name, to_unit_range(images)) for name, images in self.model.sample_grid(*self.fixed_inputs)]
        self.grids_dir.mkdir(parents=True, exist_ok=True)
        save_grid_png(rows, self.grids_dir / f"epoch_{epoch + 1:04d}.png", title=f"Epoch {epoch + 1}")
        # record_if(True): TensorBoardLogger's per-step condition is still active during on_epoch_end.
        with self._writer.as_default(), tf.summary.record_if(True):
            description = "Rows, top to bottom: " + ", ".join(name for name, _ in rows)
            tf.summary.image("samples", grid_image(rows)[None], step=epoch, description=description)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()
        frames = sorted(self.grids_dir.glob("epoch_*.png"))
        if frames:
            save_animation(frames, self.animation_path)


class LossPlotCallback(keras.callbacks.Callback):
    """Per-epoch logs -> `<run_dir>/history.json` (every epoch, so it survives a kill) and `losses.png` (at the end).

    history.json is {"epoch": [1, 2, ...], "<loss>": [...], ...}; a resumed run
    keeps the epochs the previous run finished.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.history_path = Path(run_dir) / "history.json"
        self.plot_path = Path(run_dir) / "losses.png"
        self.records = {}  # epoch (1-based) -> {name: value}

    def on_train_begin(self, logs=None):
        if self.history_path.exists():
            history = json.loads(self.history_path.read_text())
            names = [name for name in history if name != "epoch"]
            self.records = {
                epoch: {name: history[name][index] for name in names} for index, epoch in enumerate(history["epoch"])
            }

    def on_epoch_end(self, epoch, logs=None):
        self.records[epoch + 1] = {name: float(value) for name, value in (logs or {}).items()}
        self.history_path.write_text(json.dumps(self.history(), indent=1) + "\n")

    def on_train_end(self, logs=None):
        if self.records:
            plot_losses(self.history(), self.plot_path)

    def history(self) -> dict:
        epochs = sorted(self.records)
        names = sorted({name for record in self.records.values() for name in record})
        return {"epoch": epochs, **{name: [self.records[epoch].get(name) for epoch in epochs] for name in names}}


# -- drawing -------------------------------------------------------------------------------------


def to_unit_range(images) -> np.ndarray:
    """Images in [-1, 1] (tensor or array) -> float32 NumPy in [0, 1]."""
    images = keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))
    return np.clip((images + 1.0) / 2.0, 0.0, 1.0)


def grid_image(rows, gap: int = 2) -> np.ndarray:
    """[(name, images [N, H, W, 3] in [0, 1]), ...] -> one [H', W', 3] image, rows top to bottom, white gaps."""
    height, width = rows[0][1].shape[1:3]
    columns = max(len(images) for _, images in rows)
    grid = np.ones((len(rows) * (height + gap) - gap, columns * (width + gap) - gap, 3), "float32")
    for row, (_, images) in enumerate(rows):
        for column, image in enumerate(images):
            top, left = row * (height + gap), column * (width + gap)
            grid[top : top + height, left : left + width] = image
    return grid


def save_grid_png(rows, path, title: str = "") -> None:
    """[(name, images [N, H, W, 3] in [0, 1]), ...] -> a PNG with one row per name, labelled on the left."""
    columns = max(len(images) for _, images in rows)
    figure = Figure(figsize=(1.6 + 1.2 * columns, 0.4 + 1.2 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), columns, squeeze=False, gridspec_kw={"wspace": 0.03, "hspace": 0.03})
    for row, (name, images) in enumerate(rows):
        for column, ax in enumerate(axes[row]):
            if column < len(images):
                ax.imshow(images[column], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=100)


def save_animation(png_paths, path, max_frames: int = 100, frame_ms: int = 400, last_frame_ms: int = 2000) -> None:
    """The PNGs (e.g. one grid per epoch, in order) as a looping animated GIF.

    At most `max_frames`, evenly spread and always including the last, so a
    300-epoch run stays a GIF of a few megabytes; the last frame is held longer.
    """
    png_paths = list(png_paths)
    picks = np.unique(np.linspace(0, len(png_paths) - 1, min(max_frames, len(png_paths))).round().astype(int))
    frames = []
    for index in picks:
        with Image.open(png_paths[index]) as png:
            frames.append(png.convert("RGB").quantize())  # 1 byte a pixel: 100 large frames fit in memory
    durations = [frame_ms] * (len(frames) - 1) + [last_frame_ms]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def plot_losses(history: dict, path) -> None:
    """One panel per logged loss against the epoch."""
    names = [name for name in history if name != "epoch"]
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = Figure(figsize=(4.0 * columns, 3.0 * rows))
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, names):
        values = [np.nan if value is None else value for value in history[name]]
        ax.plot(history["epoch"], values, marker="o", markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# -- checks --------------------------------------------------------------------------------------


def _is_finite(value) -> bool:
    return bool(np.isfinite(np.asarray(value, dtype="float64")).all())


def _all_finite(logs) -> bool:
    return all(_is_finite(value) for value in (logs or {}).values())


def _weights_finite(model: keras.Model) -> bool:
    return all(
        bool(keras.ops.all(keras.ops.isfinite(weight.value)))
        for weight in model.weights
        if keras.backend.is_float_dtype(weight.dtype)
    )


def _require_built_optimizers(model: keras.Model) -> None:
    unbuilt = [name for name, optimizer in model_optimizers(model).items() if not optimizer.built]
    if unbuilt:
        raise ValueError(
            f"cannot restore the backup: {', '.join(unbuilt)} not built, and Keras would silently skip their "
            "state. Build each optimizer in the model's compile(): optimizer.build(its trainable variables)."
        )
