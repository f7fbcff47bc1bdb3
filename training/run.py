"""The run directory and its layout, and run setup: seeds, dtype policy, distribution strategy, config.

`RunLayout` is the only code that knows where a run keeps what: every other
module asks it for a path, so renaming a file means editing one line here.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
from pathlib import Path

import keras
import tensorflow as tf

from preprocessing import atomic_files
from training import host_memory
from training.backup import write_failure
from training.run_lock import RunDirLock, lock_run_dir


@dataclasses.dataclass(frozen=True)
class RunLayout:
    """Where the files of the run in `run_dir` are; what the CLIs that read a finished run use.

    <run_dir>/config.json     the resolved settings the run trained with
             history.json    per-epoch losses, losses.png their plot
             grids/          an image grid per epoch, grids.gif all of them animated
             tensorboard/    TensorBoard logs (training curves, grids, semantics scores)
             backup/         the training state a rerun resumes from
             export/         the exported generators, <name>.keras
             semantics/      `evaluation.semantics` reports and cached classifiers
             .lock           held by the process training in the directory (`training.run_lock`)
    """

    run_dir: Path

    @classmethod
    def open(cls, run_dir) -> RunLayout:
        """The layout of the run directory `run_dir` (str or Path), e.g. a finished run a CLI reads."""
        return cls(Path(run_dir))

    @property
    def config_path(self) -> Path:
        return self.run_dir / "config.json"

    @property
    def history_path(self) -> Path:
        return self.run_dir / "history.json"

    @property
    def loss_plot_path(self) -> Path:
        return self.run_dir / "losses.png"

    @property
    def grids_dir(self) -> Path:
        return self.run_dir / "grids"

    def grid_path(self, epoch: int) -> Path:
        """The grid drawn after `epoch` (1-based, as the progress bar counts)."""
        return self.grids_dir / f"epoch_{epoch:04d}.png"

    def grid_paths(self) -> list[Path]:
        """Every grid written so far, in epoch order."""
        return sorted(self.grids_dir.glob("epoch_*.png"))

    @property
    def grids_animation_path(self) -> Path:
        return self.run_dir / "grids.gif"

    @property
    def tensorboard_dir(self) -> Path:
        return self.run_dir / "tensorboard"

    @property
    def backup_dir(self) -> Path:
        return self.run_dir / "backup"

    @property
    def export_dir(self) -> Path:
        return self.run_dir / "export"

    def export_path(self, name: str) -> Path:
        """Where the generator `name` is exported: export/<name>.keras."""
        return self.export_dir / f"{name}.keras"

    @property
    def semantics_dir(self) -> Path:
        return self.run_dir / "semantics"

    def read_config(self) -> dict:
        """The run's config.json, or {} when the run has none (e.g. a folder of exports only)."""
        return json.loads(self.config_path.read_text()) if self.config_path.is_file() else {}


@dataclasses.dataclass(frozen=True)
class Run(RunLayout):
    """A run being trained: its layout, what it runs on, and `config`, what its config.json holds.

    `is_chief` is False on every worker but the chief of a multi-worker
    strategy: only the chief writes the run's files, each other worker backs
    up its own state into `backup_write_dir`. The chief holds `lock`, the
    run directory's lock, for as long as the run is alive.
    """

    model_name: str
    strategy: tf.distribute.Strategy
    config: dict
    is_chief: bool = True
    task_id: int = 0
    lock: RunDirLock | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def multi_worker(self) -> bool:
        """Whether the run trains on several workers (`--strategy=multi_worker`), where Keras's `fit` cannot run."""
        return isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)

    @property
    def backup_write_dir(self) -> Path:
        """Where this worker saves its backups: backup/ on the chief, a folder of its own in backup/ elsewhere.

        Every worker restores from the chief's backup (the run directory is on a
        filesystem they share), as Keras 2's multi-worker BackupAndRestore did.
        """
        return self.backup_dir if self.is_chief else self.backup_dir / f"workertemp_{self.task_id}"


def setup_run(model_name: str, config: dict) -> Run:
    """Seeds, sets the dtype policy and malloc's mmap threshold, creates the strategy and the run directory,
    writes config.json. Raises StrategyError for a strategy that cannot train as configured, and
    RunDirectoryBusy, before writing anything, when another process trains in the run directory.

    An existing `config["run_dir"]` is reused as it is, so a rerun resumes from
    its backup; config.json is then rewritten with this run's values, and the
    values that changed are printed. Prints the devices the run trains on.
    """
    keras.utils.set_random_seed(config["seed"])
    keras.config.set_dtype_policy("float32" if config["mixed_precision"] == "off" else config["mixed_precision"])
    host_memory.set_malloc_mmap_threshold(config["malloc_mmap_threshold_mb"])
    strategy = make_strategy(config["strategy"])
    if config["strategy"] == "multi_worker":
        check_multi_worker(config, strategy)
    run_dir = Path(config["run_dir"] or default_run_dir(model_name)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    chief = is_chief(strategy)
    lock = lock_run_dir(run_dir) if chief else None
    resolved = {
        **config,
        "model": model_name,
        "run_dir": str(run_dir),
        "num_replicas": strategy.num_replicas_in_sync,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    current = Run(run_dir, model_name, strategy, resolved, chief, task_id(strategy), lock)
    if current.is_chief:
        _print_changes(current.config_path, resolved)
        _write_config(current)
    print(describe_devices(strategy, config["strategy"]), flush=True)
    return current


def default_run_dir(model_name: str) -> Path:
    return Path("runs") / model_name / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


class StrategyError(RuntimeError):
    """A --strategy that cannot run as set up; the message is the one line a train CLI prints."""


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy `name` (see `training.flags.STRATEGIES`); StrategyError if it cannot run here."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        check_tf_config(os.environ.get("TF_CONFIG", ""))
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy()
    raise ValueError(f"unknown strategy {name!r}; expected default, mirrored, multi_worker or tpu")


def check_tf_config(tf_config: str) -> None:
    """Raises StrategyError unless `tf_config` (TF_CONFIG's value) names a cluster of chief/worker tasks and this one.

    MultiWorkerMirroredStrategy would otherwise train alone on an empty
    TF_CONFIG, or fail at its first collective with a long traceback.
    """
    flag = "--strategy=multi_worker"
    if not tf_config.strip():
        raise StrategyError(
            f"{flag} needs TF_CONFIG: the cluster's worker addresses and this machine's task, e.g. "
            '\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 0}}\''
        )
    try:
        parsed = json.loads(tf_config)
        cluster, task = parsed["cluster"], parsed["task"]
        task_type, index = task["type"], int(task["index"])
        tasks = {job: list(cluster[job]) for job in cluster}
    except (ValueError, KeyError, TypeError) as error:
        raise StrategyError(
            f"{flag}: TF_CONFIG needs a 'cluster' and a 'task' with 'type' and 'index' ({error!r})"
        ) from None
    others = sorted(set(tasks) - {"chief", "worker"})
    if others or not tasks:
        raise StrategyError(f"{flag} trains on chief and worker tasks only; TF_CONFIG's cluster has {others or 'none'}")
    if task_type not in tasks or not 0 <= index < len(tasks[task_type]):
        raise StrategyError(f"{flag}: TF_CONFIG's task {task_type}:{index} is not in its cluster {tasks}")


def check_multi_worker(config: dict, strategy: tf.distribute.Strategy) -> None:
    """Raises StrategyError for a --strategy=multi_worker setting the workers cannot train with.

    - mixed_float16: Keras's LossScaleOptimizer checks a worker's own gradients
      for overflow before the replicas' gradients are summed, so when one
      worker's overflow and another's do not, the others wait for it forever.
    - --jit_compile on CPUs: XLA compiles no collective ops for CPU devices.
    - a global batch that does not split evenly over the replicas: each
      replica's loss is a mean over its share, and the shares count alike.
    """
    flag = "--strategy=multi_worker"
    if config["mixed_precision"] == "mixed_float16":
        raise StrategyError(
            f"{flag} cannot train in --mixed_precision=mixed_float16 (a worker whose gradients overflow alone "
            "skips a step the others take, and they wait for it forever); use mixed_bfloat16 or off"
        )
    if config["jit_compile"] and not tf.config.list_physical_devices("GPU"):
        raise StrategyError(
            f"{flag} with --jit_compile needs GPUs (XLA has no collective ops on CPU); pass --nojit_compile"
        )
    replicas = strategy.num_replicas_in_sync
    if config["batch_size"] % replicas:
        raise StrategyError(
            f"--batch_size={config['batch_size']} does not split evenly over the {replicas} replicas of {flag}; "
            f"give a multiple of {replicas}"
        )


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: True but on the non-chief workers of a multi-worker strategy."""
    return bool(strategy.extended.should_checkpoint)


def task_id(strategy: tf.distribute.Strategy) -> int:
    """This worker's index in a multi-worker cluster (TF_CONFIG's task.index); 0 without a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None else 0


def describe_devices(strategy: tf.distribute.Strategy, strategy_name: str) -> str:
    """One line: the devices each replica trains on, the strategy and the dtype policy.

    e.g. "Training on: 1 x CPU (/physical_device:CPU:0), strategy default, 1 replica, policy float32".
    """
    devices = tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("CPU")
    kinds = sorted({device.device_type for device in devices})
    names = ", ".join(device.name for device in devices)
    replicas = strategy.num_replicas_in_sync
    return (
        f"Training on: {len(devices)} x {'/'.join(kinds)} ({names}), strategy {strategy_name}, "
        f"{replicas} replica{'s' if replicas != 1 else ''}, policy {keras.config.dtype_policy().name}"
    )


def _tpu_strategy() -> tf.distribute.TPUStrategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise StrategyError(
            f"--strategy=tpu found no TPU ({error}). Run on a Cloud TPU VM or a Colab TPU runtime, "
            "or set TPU_NAME; elsewhere use --strategy=default or mirrored."
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def _write_config(current: Run) -> None:
    """Writes the run's config.json whole or not at all; a failed write raises `RunWriteError` (one line)."""
    try:
        atomic_files.write_text(current.config_path, json.dumps(current.config, indent=2, sort_keys=True) + "\n")
    except atomic_files.WriteError as error:
        raise write_failure(error, current.backup_dir) from None


def _print_changes(config_path: Path, config: dict) -> None:
    """When resuming, says which settings differ from the run's previous config."""
    if not config_path.exists():
        return
    previous = json.loads(config_path.read_text())
    changed = sorted(key for key in config.keys() | previous.keys() if config.get(key) != previous.get(key))
    print(f"Resuming the run in {config_path.parent}; changed settings: {', '.join(changed) or 'none'}", flush=True)
