"""A SIGTERM or SIGINT mid-epoch: the step finishes, is backed up, the process exits 75, and a rerun resumes there.

Also the time-based backup interval (`--backup_every_minutes`), which bounds
what a hard kill, without a signal first, can lose.
"""

from __future__ import annotations

import json
import signal

import h5py
import numpy as np
import pytest

from tests.training.conftest import run_toy_train, train_toy
from training import backup as backup_module
from training.backup import backed_up_steps
from training.preemption import EXIT_STOPPED


def last_json_line(result) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def weight_arrays(path) -> dict:
    """{dataset path: array} of every dataset in a `.weights.h5` file."""
    arrays = {}
    with h5py.File(path, "r") as weights_file:
        weights_file.visititems(
            lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
        )
    return arrays


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_mid_epoch_backs_up_that_step_and_exits_75_in_one_line(tmp_path, signal_name):
    run_dir = tmp_path / "run"

    stopped = run_toy_train(run_dir, "--signal_at_step=5", f"--signal={signal_name}")

    assert stopped.returncode == EXIT_STOPPED, stopped.stderr[-3000:]
    assert "Traceback" not in stopped.stderr
    assert stopped.stderr.strip().splitlines()[-2:] == [
        f"{signal_name} received: stopping after the current step, once it is backed up "
        "(send it again to stop at once).",
        f"Stopped by {signal_name} after step 5 (epoch 2, step 2 of 3); the backup in {run_dir.resolve()}/backup "
        "holds step 5: rerun the same command to resume from there.",
    ]
    assert backed_up_steps(run_dir / "backup") == 5
    assert not (run_dir / "export").exists()  # a stopped run is not finished: nothing is exported
    # Epoch 2 was cut short: its grid and its history record wait for the rerun that finishes it.
    assert json.loads((run_dir / "history.json").read_text())["epoch"] == [1]
    assert sorted(path.name for path in (run_dir / "grids").iterdir()) == ["epoch_0001.png"]


def test_the_rerun_of_a_stopped_run_resumes_at_its_step_with_the_weights_of_an_uninterrupted_run(tmp_path):
    stopped_dir, killed_dir = tmp_path / "stopped", tmp_path / "killed"
    run_toy_train(stopped_dir, "--signal_at_step=5")
    # The same run killed without notice right after step 5, backed up at that step: the uninterrupted state.
    run_toy_train(killed_dir, "--kill_after_steps=5", "--backup_every_n_steps=5")

    stopped_weights = weight_arrays(stopped_dir / "backup" / "latest.weights.h5")

    resumed = run_toy_train(stopped_dir)

    uninterrupted_weights = weight_arrays(killed_dir / "backup" / "latest.weights.h5")
    assert stopped_weights.keys() == uninterrupted_weights.keys()
    for name, values in uninterrupted_weights.items():
        np.testing.assert_array_equal(stopped_weights[name], values, err_msg=name)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert last_json_line(resumed) == {
        "iterations_at_start": {"g_optimizer": 5, "d_optimizer": 5},
        "steps_run": 4,  # the 1 step epoch 2 lacked, then epoch 3: 9 in all
        "iterations_at_end": 9,
    }


def test_a_second_signal_stops_at_once_without_a_backup_of_the_step(tmp_path):
    run_dir = tmp_path / "run"

    killed = run_toy_train(run_dir, "--signal_at_step=5", "--signal_count=2")

    assert killed.returncode == -signal.SIGTERM
    assert backed_up_steps(run_dir / "backup") == 3  # the end of epoch 1, the last backup before step 5


def test_signal_handlers_are_restored_when_training_ends(tmp_path):
    before = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}

    train_toy(tmp_path / "run")

    assert {number: signal.getsignal(number) for number in before} == before


@pytest.fixture
def a_minute_per_call(monkeypatch):
    """The backup's clock advances one minute each time it is read."""
    clock = iter(range(0, 10**6, 60))
    monkeypatch.setattr(backup_module.time, "monotonic", lambda: float(next(clock)))


@pytest.fixture
def saved_steps(monkeypatch) -> list:
    """The steps every backup of the test writes, in order."""
    steps, save = [], backup_module.ResumableBackup.save

    def recording_save(backup):
        save(backup)
        if backup.backed_up_step == backup.completed_steps and steps[-1:] != [backup.completed_steps]:
            steps.append(backup.completed_steps)

    monkeypatch.setattr(backup_module.ResumableBackup, "save", recording_save)
    return steps


@pytest.mark.parametrize(("every_minutes", "expected"), [(1.0, [1, 2, 3, 4, 5, 6]), (2.0, [2, 3, 5, 6]), (0.0, [3, 6])])
def test_a_backup_follows_the_first_step_that_ends_every_minutes_after_the_last(
    tmp_path, a_minute_per_call, saved_steps, every_minutes, expected
):
    # 2 epochs x 3 steps. The clock reads once as training begins, once as each step ends, and once after
    # each backup; 2 minutes: steps 1 (at 1 min) and 2 (at 2 min: back up), 3 (the epoch ends: back up, at
    # 5 min), 4 (6 min) and 5 (7 min: back up), 6 (the epoch ends).
    train_toy(tmp_path / "run", backup_every_minutes=every_minutes)

    assert saved_steps == expected
