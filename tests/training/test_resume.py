"""Kill a training process mid-epoch, rerun it with the same --run_dir: it continues at the backed-up step."""

from __future__ import annotations

import json
import signal
import subprocess

from tests.training.conftest import event_files, read_events, run_toy_train


def toy_train(run_dir, *flags) -> subprocess.CompletedProcess:
    """`python -m tests.training.toy_train`: 3 epochs x 3 steps, batch scalars every step, backups every 2 steps."""
    return run_toy_train(run_dir, "--backup_every_n_steps=2", *flags)


def test_a_killed_run_resumes_at_the_backed_up_step_and_finishes_the_total(tmp_path):
    run_dir = tmp_path / "run"
    killed = toy_train(run_dir, "--kill_after_steps=5")  # backups after steps 2, 3 (epoch end) and 4
    metadata = json.loads((run_dir / "backup" / "training_metadata.json").read_text())
    files_of_killed_run = set(event_files(run_dir / "tensorboard" / "train"))

    resumed = toy_train(run_dir)

    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert metadata == {"epoch": 1, "completed_steps": 4, "steps_per_epoch": 3}
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report == {
        "iterations_at_start": {"g_optimizer": 4, "d_optimizer": 4},  # restored, not restarted at 0
        "steps_run": 5,  # the 2 steps epoch 2 lacked, then epoch 3: 9 in all
        "iterations_at_end": 9,
    }
    new_files = set(event_files(run_dir / "tensorboard" / "train")) - files_of_killed_run
    assert sorted(read_events(new_files)["batch_d_loss"]) == [5, 6, 7, 8, 9]
    assert json.loads((run_dir / "history.json").read_text())["epoch"] == [1, 2, 3]
    assert sorted(path.name for path in (run_dir / "grids").iterdir()) == [f"epoch_000{n}.png" for n in (1, 2, 3)]


def error_lines(result: subprocess.CompletedProcess) -> list:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_a_diverged_run_ends_in_one_line_naming_the_loss_the_step_and_the_last_good_step(tmp_path):
    run_dir = tmp_path / "run"
    result = toy_train(run_dir, "--nan_from_step=5")  # backups after steps 2, 3 (epoch end) and 4

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert error_lines(result) == [
        "error: Training diverged at step 5 (epoch 2, step 2): d_loss=nan, g_loss=nan; the backup in "
        f"{run_dir.resolve() / 'backup'} holds the last good state, step 4."
    ]


def test_a_run_diverged_before_any_backup_says_no_good_state_was_saved(tmp_path):
    result = toy_train(tmp_path / "run", "--nan_from_step=1")

    assert result.returncode == 1
    assert error_lines(result) == [
        "error: Training diverged at step 1 (epoch 1, step 1): d_loss=nan, g_loss=nan; "
        "no good state was backed up yet; rerun with a new --run_dir."
    ]
