"""`python -m tests.training.toy_train --run_dir=DIR`: the toy GAN trained the way a model's train.py trains.

With `--kill_after_steps=N` the process kills itself (SIGKILL, as a preempted
machine: no cleanup) after N steps; with `--signal_at_step=N` it sends itself
`--signal` (`--signal_count` times) as step N begins, as a spot VM's notice
or a Ctrl-C mid-step; with `--nan_from_step=N` its losses turn NaN at step N;
with `--fail_writes_after_steps=N`, after N steps every file whose path
contains `--fail_writes_to` meets a full disk (`tests.full_disk`). At the end
it prints one JSON line saying where training started and how many steps this
process ran.
"""

from __future__ import annotations

import json
import os
import signal

import keras
from absl import app
from absl import flags as absl_flags

from tests import full_disk
from tests.training.toy_gan import ToyGAN, toy_dataset
from training import fit, flags, run

flags.define_common_flags(
    epochs=3, steps_per_epoch=3, batch_size=2, learning_rate=1e-3, log_every_n_steps=1, num_grid_samples=2
)
absl_flags.DEFINE_integer("kill_after_steps", 0, "Kill this process after N training steps (0: never).")
absl_flags.DEFINE_integer("signal_at_step", 0, "Send --signal to this process as step N begins (0: never).")
absl_flags.DEFINE_enum("signal", "SIGTERM", ["SIGTERM", "SIGINT"], "The signal --signal_at_step sends.")
absl_flags.DEFINE_integer("signal_count", 1, "How many times --signal_at_step sends it.")
absl_flags.DEFINE_integer("nan_from_step", None, "Feed NaN batches from this training step on (1-based).")
absl_flags.DEFINE_integer("fail_writes_after_steps", None, "Writes to --fail_writes_to fail after N steps (ENOSPC).")
absl_flags.DEFINE_string(
    "fail_writes_to", "weights.h5", "What the paths of the files --fail_writes_after_steps fails hold."
)
FLAGS = absl_flags.FLAGS
PROBE_FLAGS = [
    "kill_after_steps",
    "signal_at_step",
    "signal",
    "signal_count",
    "fail_writes_after_steps",
    "fail_writes_to",
]


class Probe(keras.callbacks.Callback):
    """Records the optimizers' iterations when training (re)starts and the steps this process runs."""

    def __init__(self, config: dict):
        super().__init__()
        self.kill_after_steps = config["kill_after_steps"]
        self.signal_at_step = config["signal_at_step"]
        self.signal_number = signal.Signals[config["signal"]]
        self.signal_count = config["signal_count"]
        self.fail_writes_after_steps = config["fail_writes_after_steps"]
        self.fail_writes_to = config["fail_writes_to"]
        self.iterations_at_start = None
        self.steps_run = 0

    def on_train_begin(self, logs=None):
        if self.iterations_at_start is None:  # fit() may call model.fit twice
            self.iterations_at_start = {
                "g_optimizer": int(self.model.g_optimizer.iterations.numpy()),
                "d_optimizer": int(self.model.d_optimizer.iterations.numpy()),
            }

    def on_train_batch_begin(self, batch, logs=None):
        if self.steps_run + 1 == self.signal_at_step:
            for _ in range(self.signal_count):
                os.kill(os.getpid(), self.signal_number)

    def on_train_batch_end(self, batch, logs=None):
        self.steps_run += 1
        if self.steps_run == self.kill_after_steps:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.steps_run == self.fail_writes_after_steps:
            full_disk.fail_writes_to(self.fail_writes_to)


def main(argv):
    del argv
    config = flags.config_from_flags("toy_gan", PROBE_FLAGS + ["nan_from_step"])
    with fit.one_line_failures():
        current = run.setup_run("toy_gan", config)
        dataset = toy_dataset(config["batch_size"], config["nan_from_step"])
        model = fit.build_and_compile(current, config, ToyGAN)
        probe = Probe(config)
        fixed_inputs = fit.take_fixed_inputs(dataset, config["num_grid_samples"])
        fit.fit(model, dataset, current, config, fixed_inputs, extra_callbacks=[probe], verbose=0)
    report = {
        "iterations_at_start": probe.iterations_at_start,
        "steps_run": probe.steps_run,
        "iterations_at_end": int(model.g_optimizer.iterations.numpy()),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    app.run(main)
