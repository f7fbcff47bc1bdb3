"""Run setup: seeds, dtype policy, distribution strategy, run directory and its config.json."""

from __future__ import annotations

import dataclasses
import datetime
import json
import platform
from pathlib import Path

import keras
import tensorflow as tf
from absl import logging

CONFIG_FILE = "config.json"


@dataclasses.dataclass(frozen=True)
class Run:
    """Where a run writes and what it runs on; `config` is what `config.json` holds."""

    model_name: str
    run_dir: Path
    strategy: tf.distribute.Strategy
    config: dict

    @property
    def backup_dir(self) -> Path:
        return self.run_dir / "backup"

    @property
    def tensorboard_dir(self) -> Path:
        return self.run_dir / "tensorboard"

    @property
    def grids_dir(self) -> Path:
        return self.run_dir / "grids"

    @property
    def export_dir(self) -> Path:
        return self.run_dir / "export"


def setup_run(model_name: str, config: dict) -> Run:
    """Seeds, sets the dtype policy, creates the strategy and the run directory, writes config.json.

    An existing `config["run_dir"]` is reused as it is, so a rerun resumes from
    its backup; config.json is then rewritten with this run's values, and the
    values that changed are logged.
    """
    keras.utils.set_random_seed(config["seed"])
    keras.config.set_dtype_policy("float32" if config["mixed_precision"] == "off" else config["mixed_precision"])
    strategy = make_strategy(config["strategy"])
    run_dir = Path(config["run_dir"] or default_run_dir(model_name)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = {
        **config,
        "model": model_name,
        "run_dir": str(run_dir),
        "num_replicas": strategy.num_replicas_in_sync,
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
    }
    _log_changes(run_dir / CONFIG_FILE, resolved)
    (run_dir / CONFIG_FILE).write_text(json.dumps(resolved, indent=2, sort_keys=True) + "\n")
    return Run(model_name, run_dir, strategy, resolved)


def default_run_dir(model_name: str) -> Path:
    return Path("runs") / model_name / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy `name` (see `training.flags.STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        return _tpu_strategy()
    raise ValueError(f"unknown strategy {name!r}; expected default, mirrored, multi_worker or tpu")


def _tpu_strategy() -> tf.distribute.TPUStrategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise RuntimeError(
            f"--strategy=tpu found no TPU ({error}). Run on a Cloud TPU VM or a Colab TPU runtime, "
            "or set TPU_NAME; elsewhere use --strategy=default or mirrored."
        ) from error
    return tf.distribute.TPUStrategy(resolver)


def _log_changes(config_path: Path, config: dict) -> None:
    """When resuming, says which settings differ from the run's previous config.json."""
    if not config_path.exists():
        return
    previous = json.loads(config_path.read_text())
    changed = sorted(key for key in config.keys() | previous.keys() if config.get(key) != previous.get(key))
    logging.info("Resuming the run in %s; changed settings: %s", config_path.parent, ", ".join(changed) or "none")
