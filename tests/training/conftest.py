"""Shared fixtures of the training-harness tests: toy configs, a clean dtype policy, event-file reading."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
import tensorflow as tf
from absl import flags as absl_flags

from training import flags

TOY_DEFAULTS = dict(
    epochs=2, steps_per_epoch=3, batch_size=2, learning_rate=1e-3, log_every_n_steps=2, num_grid_samples=2
)


def toy_config(run_dir, **flag_values) -> dict:
    """The config a toy `train.py` would build from `--name=value` for each of `flag_values`."""
    values = absl_flags.FlagValues()
    flags.define_common_flags(values, **TOY_DEFAULTS)
    values(["toy_train", f"--run_dir={run_dir}", *(f"--{name}={value}" for name, value in flag_values.items())])
    return flags.config_from_flags("toy_gan", flag_values=values)


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
