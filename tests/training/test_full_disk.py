"""A full disk in the middle of a run: one line naming the file and the intact backup, no partial file, and a
rerun that resumes from that backup."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from preprocessing.atomic_files import TEMPORARY_PREFIX
from tests.full_disk import small_tmpfs
from tests.training.test_resume import error_lines, toy_train

REMEDY = "free space, then rerun the same command to resume"


def partial_files(folder) -> list:
    return sorted(folder.rglob(f"{TEMPORARY_PREFIX}*"))


def report_of(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_backup_cut_short_ends_the_run_in_one_line_and_a_rerun_resumes_from_the_previous_one(tmp_path):
    run_dir = tmp_path / "run"
    backup_dir = run_dir.resolve() / "backup"
    # Backups after steps 2, 3 (epoch end) and 4; the one after step 6 meets the full disk.
    failed = toy_train(run_dir, "--fail_writes_after_steps=4")

    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    assert error_lines(failed) == [
        f"error: cannot write {backup_dir / 'latest.weights.h5'}: no space left on the device; "
        f"the backup in {backup_dir} at step 4 is intact; {REMEDY}"
    ]
    assert partial_files(run_dir) == []
    resumed = toy_train(run_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert report_of(resumed)["iterations_at_start"] == {"g_optimizer": 4, "d_optimizer": 4}


@pytest.mark.parametrize(
    "name_part, failed_file, backed_up_step, kept",
    [
        ("epoch_0002.png", "grids/epoch_0002.png", 6, "grids/epoch_0001.png"),  # after epoch 2's backup
        ("/export/", "export/source2target.keras", 9, "grids.gif"),  # after training
    ],
)
def test_a_grid_or_an_export_cut_short_ends_the_run_in_one_line_naming_the_backup(
    tmp_path, name_part, failed_file, backed_up_step, kept
):
    run_dir = tmp_path / "run"
    failed = toy_train(run_dir, "--fail_writes_after_steps=1", f"--fail_writes_to={name_part}")

    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "Traceback" not in failed.stderr
    assert error_lines(failed) == [
        f"error: cannot write {run_dir.resolve() / failed_file}: no space left on the device; "
        f"the backup in {run_dir.resolve() / 'backup'} at step {backed_up_step} is intact; {REMEDY}"
    ]
    assert not (run_dir / failed_file).exists()
    assert (run_dir / kept).stat().st_size > 0
    assert partial_files(run_dir) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 100 KB tmpfs: the toy run writes about 260 KB."""
    with small_tmpfs(tmp_path / "small_disk", "100k") as mount_point:
        yield mount_point


def test_a_real_full_disk_ends_the_run_in_one_line_and_the_backup_it_names_resumes(small_disk, tmp_path):
    run_dir = small_disk / "run"
    failed = toy_train(run_dir)

    assert failed.returncode == 1, failed.stderr[-3000:]  # not 139: no segmentation fault
    assert "Traceback" not in failed.stderr
    [line] = error_lines(failed)
    named = re.fullmatch(
        rf"error: cannot write {re.escape(str(run_dir))}/\S+: no space left on the device; "
        rf"(the backup in {re.escape(str(run_dir / 'backup'))} at step (\d+) is intact|no backup was written yet); "
        + re.escape(REMEDY),
        line,
    )
    assert named, line
    assert partial_files(run_dir) == []
    if named.group(2):  # the run, moved to a disk with room, resumes from the step the line names
        shutil.copytree(run_dir, tmp_path / "moved")
        resumed = toy_train(tmp_path / "moved")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert report_of(resumed)["iterations_at_start"]["g_optimizer"] == int(named.group(2))
