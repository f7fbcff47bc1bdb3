"""The training state a run resumes from: its last good step, and the one before it.

A backup folder holds two states, each a `model.save_weights` file (every
Keras object the model holds as an attribute, so `g_optimizer` / `d_optimizer`
with their iterations and slots) that records the steps it completed:

    latest.weights.h5        the last good step backed up
    previous.weights.h5      the one before it
    training_metadata.json   the latest state's steps, for readers of the run

A save builds the new state in memory (HDF5 crashes the process when it meets
a full disk itself), writes it beside them under a temporary name, moves latest
to previous, then the new state to latest: a run killed while saving, a full
disk or a copy gone wrong leaves at least one readable state. A save that
cannot be written removes its temporary file and raises
`atomic_files.WriteError`, latest and previous untouched. A restore takes latest, else
previous; a damaged latest is renamed to `latest.weights.h5.damaged` (nothing
is deleted) so the next save does not rotate it over the good previous one.

Why not Keras 3.15's `BackupAndRestore`: it records the batch it stopped at
but never uses it (a backup taken mid-epoch replays that whole epoch, so the
run takes more steps than asked and the schedules overshoot); it skips an
unbuilt optimizer's state with a mere warning, so its iterations silently
restart at 0; it saves whatever the weights are, NaN included; and it deletes
the backup when `fit` ends, even after a NaN stopped it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np
from absl import logging

from preprocessing import atomic_files
from training import keras_internals

LATEST_WEIGHTS = "latest.weights.h5"
PREVIOUS_WEIGHTS = "previous.weights.h5"
METADATA = "training_metadata.json"
DAMAGED_SUFFIX = ".damaged"


class BackupError(RuntimeError):
    """The backup cannot be resumed from; the message is the one line a train CLI prints."""


class RunWriteError(RuntimeError):
    """A file of a run that could not be written (a full disk, ...): the one line a train CLI prints, saying
    which file, why, what the run's backup still holds, and what to do."""


def model_optimizers(model: keras.Model) -> dict:
    """{attribute name: optimizer} of every optimizer the model holds, e.g. g_optimizer, d_optimizer."""
    return {name: value for name, value in vars(model).items() if isinstance(value, keras.optimizers.Optimizer)}


def backed_up_steps(backup_dir) -> int:
    """Training steps completed by the latest state in `backup_dir`, as its metadata says (0 without one)."""
    try:
        return int(json.loads((Path(backup_dir) / METADATA).read_text())["completed_steps"])
    except (OSError, ValueError, KeyError):
        return 0


def state_metadata(path) -> dict:
    """The training metadata ({"completed_steps", "steps_per_epoch", ...}) a state file records: inside it, or, for
    a latest state from before the steps travelled inside it, in the backup's metadata file. OSError when a file
    cannot be read, KeyError when the state records none, ValueError when the record is not JSON."""
    path = Path(path)
    with h5py.File(path, "r") as weights_file:
        recorded = weights_file.attrs.get("training_metadata")
    if recorded is None:
        if path.name != LATEST_WEIGHTS:
            raise KeyError(f"{path.name} records no training metadata")
        recorded = (path.parent / METADATA).read_text()
    return json.loads(recorded)


def resumable_step(backup_dir) -> int | None:
    """The step a rerun would resume from: that of the first readable state (latest, else previous), or None."""
    for path in (Path(backup_dir) / LATEST_WEIGHTS, Path(backup_dir) / PREVIOUS_WEIGHTS):
        if not path.exists():
            continue
        try:
            return int(state_metadata(path)["completed_steps"])
        except (OSError, ValueError, KeyError):
            continue
    return None


def write_failure(error: atomic_files.WriteError, backup_dir) -> RunWriteError:
    """`error` (a run's file not written) as the one line a train CLI prints: the file, why, what the backup in
    `backup_dir` holds, and what to do."""
    step = resumable_step(backup_dir)
    state = "no backup was written yet" if step is None else f"the backup in {backup_dir} at step {step} is intact"
    return RunWriteError(f"{error}; {state}; {error.remedy}, then rerun the same command to resume")


def all_finite(logs) -> bool:
    """Whether every value of a callback's `logs` is finite."""
    return all(is_finite(value) for value in (logs or {}).values())


def is_finite(value) -> bool:
    return bool(np.isfinite(np.asarray(value, dtype="float64")).all())


class ResumableBackup(keras.callbacks.Callback):
    """Backs up the training state of the run's good steps; `restore` resumes at the step it stopped.

    - Counts `completed_steps` over the whole run and saves it with the
      weights; `training.fit` restores once before training and finishes an
      interrupted epoch with the steps it still lacks.
    - Backs up at every epoch end, with `every_n_steps` every N steps of the
      run, and with `every_minutes` after any step that ends that long after
      the last backup (or the start), so a hard kill loses at most that much.
    - Skips a backup whose logs or float weights are not finite, so the backup
      stays the last good state.
    - Keeps the backup when training ends: rerunning a finished run does
      nothing, and a larger --epochs continues it.
    - Refuses to restore into unbuilt optimizers.

    It restores from `backup_dir` and saves into `write_dir` (the same folder
    but on a multi-worker run's non-chief workers).
    """

    def __init__(
        self, backup_dir, steps_per_epoch: int, every_n_steps: int = 0, every_minutes: float = 0.0, write_dir=None
    ):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.write_dir = Path(write_dir or backup_dir)
        self.steps_per_epoch = steps_per_epoch
        self.every_n_steps = every_n_steps
        self.every_seconds = every_minutes * 60
        self._last_save_time = None
        self.completed_steps = 0
        self.backed_up_step = None
        self._steps_before_epoch = 0
        self._logs_finite = True

    def restore(self) -> int:
        """Loads the latest readable state into the model; returns its completed steps (0 without a backup).

        Says in one line when latest is unreadable and previous was used;
        raises BackupError when neither can be read.
        """
        candidates = [path for path in self._states(self.backup_dir) if path.exists()]
        if not candidates:
            return 0
        _require_built_optimizers(self.model)
        failures = []
        for path in candidates:
            try:
                steps = self._load(path)
            except (OSError, ValueError, KeyError) as error:
                failures.append(f"{path}: {_first_line(error)}")
                continue
            if failures:  # latest is damaged, previous loaded
                damaged = self._set_aside_damaged()
                resumed = f"set it aside as {damaged.name} and resumed from {path.name} at step {steps}"
                print(f"warning: {failures[0]}; {resumed}.", file=sys.stderr, flush=True)
            self.completed_steps = self.backed_up_step = steps
            return steps
        raise BackupError(
            f"no readable backup in {self.backup_dir} ({'; '.join(failures)}); "
            "start afresh with a new --run_dir (this one is left as it is)"
        )

    def on_train_begin(self, logs=None):
        if self._last_save_time is None:  # fit() may call model.fit twice
            self._last_save_time = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self._steps_before_epoch = self.completed_steps

    def on_train_batch_end(self, batch, logs=None):
        # `batch` counts from 0 in every fit() call, including the one finishing an interrupted epoch.
        self.completed_steps = self._steps_before_epoch + batch + 1
        self._logs_finite = all_finite(logs)
        if self._backup_due():
            self.save()

    def _backup_due(self) -> bool:
        every_n_steps_due = self.every_n_steps and self.completed_steps % self.every_n_steps == 0
        every_seconds_due = self.every_seconds and time.monotonic() - self._last_save_time >= self.every_seconds
        return bool(every_n_steps_due or every_seconds_due)

    def on_epoch_end(self, epoch, logs=None):
        self._logs_finite = all_finite(logs)
        self.save()

    def save(self) -> None:
        """Backs up the current step unless it is already backed up or not finite."""
        if self.backed_up_step == self.completed_steps:
            return
        if not (self._logs_finite and _weights_finite(self.model)):
            logging.warning(
                "Not backing up step %d: its losses or weights are not finite; the backup stays at step %s.",
                self.completed_steps,
                self.backed_up_step,
            )
            return
        metadata = {
            "epoch": self.completed_steps // self.steps_per_epoch,  # completed epochs
            "completed_steps": self.completed_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }
        weights = keras_internals.weights_file_in_memory(self.model)
        with h5py.File(weights, "a") as weights_file:
            weights_file.attrs["training_metadata"] = json.dumps(metadata)
        latest, previous = self._states(self.write_dir)
        with atomic_files.replaced_atomically(latest) as partial:
            partial.write_bytes(weights.getbuffer())
            if latest.exists():
                os.replace(latest, previous)
        atomic_files.write_text(self.write_dir / METADATA, json.dumps(metadata))
        self.backed_up_step = self.completed_steps
        self._last_save_time = time.monotonic()

    def _load(self, path: Path) -> int:
        """Loads the state in `path` into the model; returns its completed steps."""
        metadata = state_metadata(path)
        if metadata["steps_per_epoch"] != self.steps_per_epoch:
            raise BackupError(
                f"the backup in {self.backup_dir} was written with steps_per_epoch={metadata['steps_per_epoch']}; "
                "resume with the same --steps_per_epoch, or start a new --run_dir"
            )
        self.model.load_weights(path)
        return int(metadata["completed_steps"])

    def _set_aside_damaged(self) -> Path:
        """Renames the unreadable latest state, so the next save does not rotate it over the good previous one."""
        latest, _ = self._states(self.backup_dir)
        damaged = latest.with_name(latest.name + DAMAGED_SUFFIX)
        os.replace(latest, damaged)
        return damaged

    @staticmethod
    def _states(folder: Path) -> tuple[Path, Path]:
        return folder / LATEST_WEIGHTS, folder / PREVIOUS_WEIGHTS


def _first_line(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


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
