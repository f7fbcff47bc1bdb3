"""The glue a model's `train.py` calls: build and compile under the strategy, train, export.

run = setup_run("xgan", config)
model = build_and_compile(run, config, lambda: XGAN(...))
fit(model, dataset, run, config, take_fixed_inputs(dataset, config["num_grid_samples"]))
"""

from __future__ import annotations

import contextlib
import sys

import keras
import tensorflow as tf

from preprocessing.atomic_files import DISK_FULL, WriteError
from training import distributed_loop
from training.backup import BackupError, ResumableBackup, RunWriteError, write_failure
from training.callbacks import ImageGridCallback, LossPlotCallback, StopOnNonFiniteLoss, TensorBoardLogger
from training.export import export_generators
from training.optimizers import make_optimizer
from training.preemption import EXIT_STOPPED, RunStopped, StopOnSignal
from training.run import Run, StrategyError, setup_run
from training.run_lock import RunDirectoryBusy

EXIT_TRAINING_FAILED = 1
_NO_SPACE = "No space left on device"  # strerror(ENOSPC), which TensorFlow's errors quote


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names it, the step and the last good state, in one line."""


@contextlib.contextmanager
def one_line_failures():
    """Around a train CLI's work: a diverged run, an unusable backup or strategy, a run directory another
    process trains in, a file of the run that cannot be written (a full disk) end the process in one line.

    The line goes to stderr and the exit code is EXIT_TRAINING_FAILED: what
    went wrong is the message, a traceback would only bury it. A run stopped
    by SIGTERM or SIGINT (`training.preemption`) says where in one line too and
    exits with EXIT_STOPPED (75): stopped, resumable.
    """
    try:
        yield
    except (TrainingDiverged, BackupError, StrategyError, RunDirectoryBusy, RunWriteError, WriteError) as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(EXIT_TRAINING_FAILED)
    except RunStopped as stop:
        print(stop, file=sys.stderr, flush=True)
        sys.exit(EXIT_STOPPED)


def build_and_compile(run: Run, config: dict, build_model_fn) -> keras.Model:
    """`build_model_fn()` compiled for training (`compile_for_training`), all under `run.strategy.scope()`."""
    with run.strategy.scope():
        return compile_for_training(build_model_fn(), config)


def compile_for_training(model: keras.Model, config: dict) -> keras.Model:
    """`model` compiled with one new optimizer per player, as the config's train CLI trains it.

    Each player's optimizer has its own rate (`g_learning_rate`, `d_learning_rate`) and schedule, and so
    has each of the model's `extra_optimizers` (`GANModel`): its rate is the config's value of the key
    the model declares for it.
    """
    steps_per_epoch = config["steps_per_epoch"]
    extra_optimizers = getattr(model, "extra_optimizers", {})
    model.compile(
        g_optimizer=make_optimizer(config, steps_per_epoch, "g_optimizer", config["g_learning_rate"]),
        d_optimizer=make_optimizer(config, steps_per_epoch, "d_optimizer", config["d_learning_rate"]),
        **{name: make_optimizer(config, steps_per_epoch, name, config[key]) for name, key in extra_optimizers.items()},
        # The generators' moving average (GANModel.compile); without one, compiled as a model without the flag.
        **({"ema_decay": config["ema_decay"]} if config.get("ema_decay") else {}),
        # Otherwise Keras creates a default RMSprop that nothing steps but every backup would carry.
        optimizer=None,
        jit_compile=config["jit_compile"],
        run_eagerly=config.get("run_eagerly", False),
    )
    return model


def take_fixed_inputs(dataset, count: int) -> tuple:
    """The first `count` examples of a batched dataset as NumPy arrays: the columns of every image grid.

    A dataset of `(faces, cartoons)` batches gives `(faces[:count], cartoons[:count])`.
    """
    batch = next(iter(dataset.unbatch().take(count).batch(count)))
    parts = batch if isinstance(batch, tuple) else (batch,)
    return tuple(keras.tree.map_structure(keras.ops.convert_to_numpy, part) for part in parts)


@contextlib.contextmanager
def write_failures_explained(run: Run):
    """Within the block, a file of `run` that cannot be written raises `RunWriteError`: the file, why, and
    the step the run's backup holds (read from the backup folder: a failed save leaves it as it was).

    TensorFlow's summary writer, which writes the TensorBoard logs itself, reports a full disk as a
    ResourceExhaustedError naming its event file; it becomes the same one line, naming the logs' folder.
    """
    try:
        yield
    except WriteError as error:
        raise write_failure(error, run.backup_dir) from None
    except tf.errors.ResourceExhaustedError as error:
        if _NO_SPACE not in error.message:
            raise
        raise write_failure(WriteError(run.tensorboard_dir, DISK_FULL), run.backup_dir) from None


def fit(model: keras.Model, dataset, run: Run, config: dict, fixed_inputs, extra_callbacks=(), verbose="auto") -> dict:
    """Trains `model` for `config["epochs"]` x `config["steps_per_epoch"]` steps, resuming from `run`'s backup.

    `dataset` yields batches endlessly; `model.fit` distributes it under the
    strategy (`training.distributed_loop` does on several workers). Writes
    TensorBoard logs, image grids of `model.sample_grid(*fixed_inputs)`
    (a PNG per epoch and a GIF of them all), the loss history and its plot,
    backs up the training state, and exports the generators. Returns the run's
    history ({"epoch": [...], "<loss>": [...]}), including epochs of the runs it
    resumes (an epoch finished after a resume reports the means of its
    remaining steps). Raises `TrainingDiverged` when a loss turns NaN or
    infinite, `BackupError` when the backup cannot be resumed from, `RunWriteError` when a file of the run
    cannot be written (every file is written whole or not at all: `preprocessing.atomic_files`), `RunStopped`
    when a SIGTERM or SIGINT stopped it (after backing up its last step, and without exporting).

    Only the chief of a multi-worker run writes the run's files; every worker
    backs up its own state (`Run.backup_write_dir`).
    """
    with write_failures_explained(run):
        return _fit(model, dataset, run, config, fixed_inputs, extra_callbacks, verbose)


def _fit(model: keras.Model, dataset, run: Run, config: dict, fixed_inputs, extra_callbacks, verbose) -> dict:
    steps_per_epoch, epochs = config["steps_per_epoch"], config["epochs"]
    _build_from_dataset(model, dataset, run)
    backup = ResumableBackup(
        run.backup_dir,
        steps_per_epoch,
        every_n_steps=config["backup_every_n_steps"],
        every_minutes=config["backup_every_minutes"],
        write_dir=run.backup_write_dir,
    )
    backup.set_model(model)
    done_steps = backup.restore()
    guard = StopOnNonFiniteLoss(backup)
    stopper = StopOnSignal(backup)
    loss_plot = LossPlotCallback(run, write=run.is_chief)
    chief_writers = [
        TensorBoardLogger(run.tensorboard_dir, config["log_every_n_steps"], backup),
        ImageGridCallback(fixed_inputs, run, config["image_every_n_epochs"]),
    ]
    callbacks = [
        backup,  # first: it counts the steps the others report
        guard,
        stopper,
        *(chief_writers if run.is_chief else []),
        loss_plot,
        *extra_callbacks,
    ]

    done_epochs, done_steps_in_epoch = divmod(done_steps, steps_per_epoch)
    if done_steps:
        print(
            f"Resuming after step {done_steps} ({done_steps_in_epoch} of {steps_per_epoch} steps into epoch "
            f"{done_epochs + 1}).",
            flush=True,
        )
    with stopper.handling_signals():
        if done_steps_in_epoch and done_epochs < epochs:
            # Keras restarts the saved epoch from its first step; finish it with the steps it lacks instead.
            remaining = steps_per_epoch - done_steps_in_epoch
            _train_epochs(model, dataset, run, callbacks, verbose, done_epochs, done_epochs + 1, remaining)
            done_epochs += 1
        if guard.message is None and stopper.message is None and done_epochs < epochs:
            _train_epochs(model, dataset, run, callbacks, verbose, done_epochs, epochs, steps_per_epoch)
    if guard.message is not None:
        raise TrainingDiverged(guard.message)
    if stopper.message is not None:
        raise RunStopped(stopper.message)

    if run.is_chief:
        _print_outputs(run, export_generators(model, run))
    if run.multi_worker:
        distributed_loop.wait_for_workers(run.strategy)
    return loss_plot.history()


def _train_epochs(model, dataset, run: Run, callbacks, verbose, initial_epoch, epochs, steps_per_epoch) -> None:
    """`model.fit` from `initial_epoch` to `epochs`; on several workers, where Keras's fit cannot run, the same
    epochs and callbacks in `training.distributed_loop`."""
    arguments = dict(
        initial_epoch=initial_epoch,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
    if run.multi_worker:
        distributed_loop.fit(model, dataset, run.strategy, **arguments)
    else:
        model.fit(dataset, shuffle=False, **arguments)


def _build_from_dataset(model: keras.Model, dataset, run: Run) -> None:
    """Builds the model as Keras would: by calling it on the first element of a batch.

    The backup can only be restored into a built model, and Keras builds a
    subclassed model only once `fit` runs.
    """
    if model.built:
        return
    spec = dataset.element_spec
    inputs = spec[0] if isinstance(spec, (tuple, list)) else spec
    with run.strategy.scope():
        model(keras.tree.map_structure(lambda tensor: keras.KerasTensor(tensor.shape, tensor.dtype.name), inputs))


def _print_outputs(run: Run, exported: dict) -> None:
    lines = [
        f"Outputs of the run in {run.run_dir}:",
        f"  config          {run.config_path}",
        f"  TensorBoard     tensorboard --logdir {run.tensorboard_dir}",
        f"  image grids     {run.grids_dir}/, animated: {run.grids_animation_path}",
        f"  losses          {run.loss_plot_path}, {run.history_path}",
        f"  training state  {run.backup_dir}/ (rerun with --run_dir={run.run_dir} to resume or extend it)",
        *(f"  generator       {path}" for path in exported.values()),
    ]
    print("\n".join(lines), flush=True)


def train_from_config(spec, config: dict, build_dataset) -> None:
    """What the train CLI of a translation model does with its resolved config: set the run up, build the
    model its registration (`spec`) describes, and fit it on `build_dataset(config)` with the callbacks the
    registration asks for; failures in one line."""
    with one_line_failures():
        current = setup_run(spec.name, config)
        dataset = build_dataset(config)
        model = build_and_compile(current, config, lambda: spec.build(config))
        callbacks = spec.training_callbacks(config) if spec.training_callbacks else ()
        fixed_inputs = take_fixed_inputs(dataset, config["num_grid_samples"])
        fit(model, dataset, current, config, fixed_inputs, extra_callbacks=callbacks)
