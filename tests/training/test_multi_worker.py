"""Training on several workers: two processes on 127.0.0.1 train what one process trains on their combined batches,
only the chief writes the run's files, the project's loop calls back as Keras's fit does, and settings the workers
cannot train with are refused in one line."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import types
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.training.conftest import event_files, fit_toy, read_events, toy_config, train_toy
from tests.training.toy_gan import ToyGAN, toy_dataset
from training import fit, run

REPO_ROOT = Path(__file__).resolve().parents[2]
# 2 epochs x 2 steps of global batches of 4: each of the 2 workers (one CPU replica each) trains on 2 images a step.
TRAINING = dict(epochs=2, steps_per_epoch=2, batch_size=4)
WORKERS = 2


def free_ports(count: int) -> list:
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


def start_workers(run_dir) -> list:
    """`python -m tests.training.toy_train --strategy=multi_worker` once per worker of a TF_CONFIG cluster."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(WORKERS)]}
    flags = [f"--{name}={value}" for name, value in TRAINING.items()]
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.training.toy_train",
                f"--run_dir={run_dir}",
                "--strategy=multi_worker",
                *flags,
            ],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                "CUDA_VISIBLE_DEVICES": "",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(WORKERS)
    ]


def saved_state(weights_file) -> dict:
    """{path: array} of every variable in a backup: the networks' weights and the optimizers' steps and moments."""
    state = {}
    with h5py.File(weights_file, "r") as opened:
        opened.visititems(lambda name, item: state.update({name: item[()]}) if isinstance(item, h5py.Dataset) else None)
    return state


def run_files(run_dir) -> list:
    """The run's files, event files by folder (their names hold the host, pid and time)."""
    paths = (path.relative_to(run_dir).as_posix() for path in Path(run_dir).rglob("*") if path.is_file())
    return sorted(re.sub(r"events\.out\.tfevents\..*", "events.out.tfevents.*", path) for path in paths)


@pytest.fixture(scope="module")
def two_workers_and_one_process(tmp_path_factory):
    """The toy trained by two worker processes on 127.0.0.1, and in this process on the same global batches."""
    root = tmp_path_factory.mktemp("multi_worker")
    workers = start_workers(root / "workers")
    try:
        keras.config.set_dtype_policy("float32")
        one_process = train_toy(root / "one_process", **TRAINING)
        outputs = [worker.communicate(timeout=240) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    for worker, (_, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, stderr[-3000:]
    return types.SimpleNamespace(run_dir=root / "workers", outputs=outputs, one_process=one_process)


def test_two_workers_end_with_identical_weights_equal_to_one_process_on_their_combined_batches(
    two_workers_and_one_process,
):
    backup = two_workers_and_one_process.run_dir / "backup"
    chief = saved_state(backup / "latest.weights.h5")
    other = saved_state(backup / "workertemp_1" / "latest.weights.h5")
    one_process = saved_state(two_workers_and_one_process.one_process.run.backup_dir / "latest.weights.h5")

    assert sorted(chief) == sorted(other) == sorted(one_process)
    assert any(name.startswith("generator/") for name in chief) and any(
        name.startswith("g_optimizer/") for name in chief
    )
    for name in chief:
        np.testing.assert_array_equal(chief[name], other[name], err_msg=name)
        # Adam's moments too: they would be halved if the replicas' gradients were averaged, not summed.
        np.testing.assert_allclose(chief[name], one_process[name], rtol=1e-5, atol=1e-7, err_msg=name)
    assert chief["g_optimizer/vars/0"] == 4  # the optimizer's iterations: 2 epochs x 2 steps
    history = json.loads((two_workers_and_one_process.run_dir / "history.json").read_text())
    expected = two_workers_and_one_process.one_process.history
    assert history["epoch"] == expected["epoch"] == [1, 2]
    for loss in ("d_loss", "g_loss"):  # the replicas' losses, averaged: the global batch's
        np.testing.assert_allclose(history[loss], expected[loss], rtol=1e-5)


def test_only_the_chief_writes_the_run_files_the_other_worker_its_backup(two_workers_and_one_process):
    one_process_files = run_files(two_workers_and_one_process.one_process.run.run_dir)
    own_backup = two_workers_and_one_process.run_dir / "backup" / "workertemp_1"
    worker_backup = sorted(f"backup/workertemp_1/{path.name}" for path in own_backup.iterdir())

    assert run_files(two_workers_and_one_process.run_dir) == sorted(one_process_files + worker_backup)
    assert worker_backup == [
        "backup/workertemp_1/latest.weights.h5",
        "backup/workertemp_1/previous.weights.h5",
        "backup/workertemp_1/training_metadata.json",
    ]
    (chief_out, _), (other_out, _) = two_workers_and_one_process.outputs
    assert "Outputs of the run" in chief_out and "Outputs of the run" not in other_out


class Recorder(keras.callbacks.Callback):
    """Every callback call: (hook, epoch or batch, sorted log names), and the logs' values."""

    def __init__(self):
        super().__init__()
        self.calls, self.values = [], []

    def _record(self, hook, index=None, logs=None):
        self.calls.append((hook, index, sorted(logs) if logs is not None else None))
        self.values.append([float(value) for _, value in sorted((logs or {}).items())])

    def on_train_begin(self, logs=None):
        self._record("train_begin", dict(self.params), logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._record("epoch_begin", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._record("batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._record("batch_end", batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", epoch, logs)

    def on_train_end(self, logs=None):
        self._record("train_end", None, logs)


class StopAfter(keras.callbacks.Callback):
    """Stops training after `steps` steps, as a preempted machine would (the epoch end backs the state up)."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps, self.count = steps, 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1
        self.model.stop_training = self.count == self.steps


def stopped_and_resumed(run_dir) -> tuple:
    """2 epochs x 3 steps stopped after step 4, then rerun: the resumed run finishes epoch 2's last 2 steps.

    Eagerly, as tracing the steps would take longer than running them (the workers' test traces them).
    """
    recorders = []
    for callbacks in ([StopAfter(4)], []):
        config = toy_config(run_dir, run_eagerly=True)
        current = run.setup_run("toy_gan", config)
        model = fit.build_and_compile(current, config, ToyGAN)
        recorders.append(Recorder())
        fixed_inputs = fit.take_fixed_inputs(toy_dataset(), 2)
        fit.fit(model, toy_dataset(2), current, config, fixed_inputs, [*callbacks, recorders[-1]], verbose=0)
    variables = [variable.numpy() for variable in (*model.weights, *model.g_optimizer.variables)]
    return recorders, variables, read_events(event_files(current.tensorboard_dir / "train"))


def test_the_project_loop_trains_resumes_and_calls_back_as_keras_fit_does(tmp_path, monkeypatch):
    keras_recorders, keras_variables, keras_events = stopped_and_resumed(tmp_path / "keras_fit")
    monkeypatch.setattr(run.Run, "multi_worker", True)  # the loop fit.fit runs on several workers, on one
    own_recorders, own_variables, own_events = stopped_and_resumed(tmp_path / "own_loop")

    for own, expected in zip(own_recorders, keras_recorders):
        assert own.calls == expected.calls
        for own_values, expected_values in zip(own.values, expected.values):
            np.testing.assert_allclose(own_values, expected_values, rtol=1e-6)
    assert own_recorders[1].calls[0] == ("train_begin", {"verbose": 0, "epochs": 2, "steps": 2}, [])
    assert [call[:2] for call in own_recorders[1].calls if call[0].startswith("batch")] == [
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
    ]
    for own, expected in zip(own_variables, keras_variables, strict=True):
        np.testing.assert_allclose(own, expected, rtol=1e-6, atol=1e-8)
    assert {tag: sorted(steps) for tag, steps in own_events.items()} == {
        tag: sorted(steps) for tag, steps in keras_events.items()
    }
    assert sorted(own_events["batch_d_loss"]) == [2, 4, 6]  # every 2 steps of the run, across the resume


def test_multi_worker_without_tf_config_fails_at_once_in_one_line_naming_the_flag(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)

    with pytest.raises(SystemExit) as exit_info, fit.one_line_failures():
        run.setup_run("toy_gan", toy_config(tmp_path / "run", strategy="multi_worker"))

    assert exit_info.value.code == fit.EXIT_TRAINING_FAILED
    assert capsys.readouterr().err.splitlines() == [
        "error: --strategy=multi_worker needs TF_CONFIG: the cluster's worker addresses and this machine's task, "
        'e.g. \'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 0}}\''
    ]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("tf_config", "message"),
    [
        ("{not json", "TF_CONFIG needs a 'cluster' and a 'task'"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}}', "TF_CONFIG needs a 'cluster' and a 'task'"),
        ('{"cluster": {"worker": ["a:1"], "ps": ["b:2"]}, "task": {"type": "worker", "index": 0}}', "\\['ps'\\]"),
        ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "task worker:2 is not"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "evaluator", "index": 0}}', "task evaluator:0 is not"),
    ],
)
def test_a_tf_config_the_strategy_cannot_use_is_refused_naming_the_flag(tf_config, message):
    with pytest.raises(run.StrategyError, match=f"^--strategy=multi_worker.*{message}"):
        run.check_tf_config(tf_config)


def test_a_cluster_of_a_chief_and_workers_is_accepted():
    run.check_tf_config('{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}')


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"mixed_precision": "mixed_float16"}, "cannot train in --mixed_precision=mixed_float16"),
        ({"jit_compile": True}, "with --jit_compile needs GPUs"),
        ({"batch_size": 3}, "--batch_size=3 does not split evenly over the 2 replicas"),
    ],
)
def test_settings_the_workers_cannot_train_with_are_refused_in_one_line(tmp_path, setting, message):
    if "jit_compile" in setting and tf.config.list_physical_devices("GPU"):
        pytest.skip("XLA compiles collectives on GPUs")
    config = {**toy_config(tmp_path / "run", batch_size=4), **setting}
    two_replicas = types.SimpleNamespace(num_replicas_in_sync=2)

    with pytest.raises(run.StrategyError, match=re.escape(message)) as error:
        run.check_multi_worker(config, two_replicas)
    assert "\n" not in str(error.value)

    run.check_multi_worker({**config, "mixed_precision": "off", "jit_compile": False, "batch_size": 4}, two_replicas)


def test_a_worker_that_is_not_the_chief_writes_only_its_own_backup(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "is_chief", lambda strategy: False)
    monkeypatch.setattr(run, "task_id", lambda strategy: 1)

    worker = run.setup_run("toy_gan", toy_config(tmp_path / "run"))
    trained = fit_toy(worker)

    assert (worker.is_chief, worker.task_id) == (False, 1)
    files = sorted(path.relative_to(worker.run_dir).as_posix() for path in worker.run_dir.rglob("*"))
    assert files == [
        "backup",
        "backup/workertemp_1",
        "backup/workertemp_1/latest.weights.h5",
        "backup/workertemp_1/previous.weights.h5",
        "backup/workertemp_1/training_metadata.json",
    ]
    assert trained.history["epoch"] == [1, 2]  # collected, not written


def test_the_chief_is_the_only_writer_a_strategy_names(tmp_path):
    default = tf.distribute.get_strategy()

    assert run.is_chief(default) and run.task_id(default) == 0
    assert (
        run.setup_run("toy_gan", toy_config(tmp_path / "run")).backup_write_dir == tmp_path.resolve() / "run" / "backup"
    )
