"""One run per run directory: a second process is refused in one line naming the holder; no stale locks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.training.conftest import fit_toy, toy_config
from training import run
from training.run_lock import LOCK_FILE_NAME, RunDirectoryBusy, lock_run_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
# Takes the lock on argv[1], says so, and holds it until killed.
HOLD_LOCK = (
    "import sys, time\n"
    "from training.run_lock import lock_run_dir\n"
    "lock = lock_run_dir(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "time.sleep(600)\n"
)


def start_holder(run_dir: Path) -> subprocess.Popen:
    """A process holding the lock on `run_dir`, once this returns."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(run_dir)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline() == "locked\n"
    return holder


def refusal(run_dir: Path, pid: int) -> str:
    return (
        f"error: another process (PID {pid}) is training in {run_dir.resolve()}; "
        "wait for it to end or stop it, or pass another --run_dir"
    )


def test_a_second_process_is_refused_in_one_line_naming_the_holder_and_writes_nothing(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = run.setup_run("toy_gan", toy_config(run_dir, epochs=1, steps_per_epoch=2))
    files_before = {path.name: path.read_bytes() for path in run_dir.iterdir()}

    second = subprocess.run(
        [sys.executable, "-m", "tests.training.toy_train", f"--run_dir={run_dir}", "--epochs=1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert second.returncode == 1
    assert second.stderr.splitlines()[-1] == refusal(run_dir, os.getpid())
    assert "Traceback" not in second.stderr and second.stdout == ""
    assert {path.name: path.read_bytes() for path in run_dir.iterdir()} == files_before
    assert sorted(files_before) == [LOCK_FILE_NAME, "config.json"]
    assert files_before[LOCK_FILE_NAME] == f"{os.getpid()}\n".encode()
    # The first run trains on as if alone.
    trained = fit_toy(first)
    assert trained.history["epoch"] == [1]
    assert (run_dir / "export").is_dir() and (run_dir / "backup" / "latest.weights.h5").is_file()


def test_a_lock_held_by_another_process_refuses_this_one_naming_its_pid(tmp_path):
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(RunDirectoryBusy) as refused:
            lock_run_dir(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert f"error: {refused.value}" == refusal(tmp_path, holder.pid)


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    holder = start_holder(tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    lock = lock_run_dir(tmp_path)

    assert lock.run_dir == tmp_path.resolve()
    assert (tmp_path / LOCK_FILE_NAME).read_text() == f"{os.getpid()}\n"


def test_a_second_setup_run_in_the_same_process_shares_the_first_ones_lock(tmp_path):
    first = run.setup_run("toy_gan", toy_config(tmp_path / "run"))
    second = run.setup_run("toy_gan", toy_config(tmp_path / "run", epochs=5))

    assert second.lock is first.lock is not None
    assert second.config["epochs"] == 5


def test_a_directory_removed_and_made_anew_is_locked_anew(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = lock_run_dir(run_dir)
    shutil.rmtree(run_dir)
    run_dir.mkdir()

    second = lock_run_dir(run_dir)

    assert second is not first and (run_dir / LOCK_FILE_NAME).read_text() == f"{os.getpid()}\n"


def test_a_worker_that_is_not_the_chief_takes_no_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "is_chief", lambda strategy: False)

    worker = run.setup_run("toy_gan", toy_config(tmp_path / "run"))

    assert worker.lock is None and list(worker.run_dir.iterdir()) == []
