"""Shared fixtures of the training-harness tests: toy configs and runs, a clean dtype policy, event-file reading."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import keras
import pytest
import tensorflow as tf
from absl import flags as absl_flags

from tests.training.toy_gan import ToyGAN, toy_dataset
from training import fit, flags, run

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_DEFAULTS = dict(
    epochs=2, steps_per_epoch=3, batch_size=2, learning_rate=1e-3, log_every_n_steps=2, num_grid_samples=2
)


def run_toy_train(run_dir, *flags) -> subprocess.CompletedProcess:
    """`python -m tests.training.toy_train --run_dir=RUN_DIR FLAGS` in a process of its own (3 epochs x 3 steps)."""
    return subprocess.run(
        [sys.executable, "-m", "tests.training.toy_train", f"--run_dir={run_dir}", *flags],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def toy_config(run_dir, **flag_values) -> dict:
    """The config a toy `train.py` would build from `--name=value` for each of `flag_values`."""
    values = absl_flags.FlagValues()
    flags.define_common_flags(values, **TOY_DEFAULTS)
    values(["toy_train", f"--run_dir={run_dir}", *(f"--{name}={value}" for name, value in flag_values.items())])
    return flags.config_from_flags("toy_gan", flag_values=values)


@dataclasses.dataclass
class TrainedRun:
    model: ToyGAN
    run: run.Run
    history: dict
    fixed_inputs: tuple


def train_toy(run_dir, dataset=None, **flag_values) -> TrainedRun:
    """setup_run -> build_and_compile -> fit, as a model's train.py does."""
    config = toy_config(run_dir, **flag_values)
    return fit_toy(run.setup_run("toy_gan", config), dataset)


def fit_toy(current: run.Run, dataset=None) -> TrainedRun:
    """build_and_compile -> fit of the toy GAN in the run `current`."""
    config = current.config
    dataset = dataset or toy_dataset(config["batch_size"])
    model = fit.build_and_compile(current, config, ToyGAN)
    fixed_inputs = fit.take_fixed_inputs(toy_dataset(), config["num_grid_samples"])
    history = fit.fit(model, dataset, current, config, fixed_inputs, verbose=0)
    return TrainedRun(model, current, history, fixed_inputs)


@pytest.fixture(autouse=True)
def float32_policy():
    """Every test starts and ends with the float32 policy, whatever setup_run or the test set."""
    keras.config.set_dtype_policy("float32")
    yield
    keras.config.set_dtype_policy("float32")


def read_events(event_files) -> dict:
    """{tag: {step: value}} of every summary in `event_files`; images are their encoded PNG bytes."""
    events = {}
    for path in event_files:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                events.setdefault(value.tag, {})[event.step] = tf.make_ndarray(value.tensor)
    return events


def event_files(log_dir) -> list:
    return sorted(Path(log_dir).glob("events.out.tfevents.*"))
