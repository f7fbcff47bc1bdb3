"""The backup keeps the previous state beside the latest, and a damaged latest falls back to it."""

from __future__ import annotations

import h5py
import pytest

from tests.training.conftest import train_toy
from training.backup import BackupError, backed_up_steps, resumable_step, state_metadata


def cut_short(path) -> bytes:
    """Truncates the file to half its size, as a full disk or a broken copy leaves it; returns what is left."""
    data = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(data)
    return data


@pytest.fixture
def backed_up_every_step(tmp_path):
    """2 epochs x 3 steps of the toy GAN with a backup after each step: latest holds step 6, previous step 5."""
    return train_toy(tmp_path / "run", backup_every_n_steps=1)


def test_each_backup_keeps_the_previous_state_beside_the_latest(backed_up_every_step):
    backup_dir = backed_up_every_step.run.backup_dir

    assert sorted(path.name for path in backup_dir.iterdir()) == [
        "latest.weights.h5",
        "previous.weights.h5",
        "training_metadata.json",
    ]
    assert backed_up_steps(backup_dir) == 6


def test_a_damaged_latest_state_resumes_from_the_previous_one_in_one_line(backed_up_every_step, capsys):
    backup_dir = backed_up_every_step.run.backup_dir
    damaged = cut_short(backup_dir / "latest.weights.h5")
    capsys.readouterr()

    resumed = train_toy(backup_dir.parent, epochs=3, backup_every_n_steps=1)

    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert str(backup_dir / "latest.weights.h5") in warnings[0]
    assert warnings[0].endswith(
        "; set it aside as latest.weights.h5.damaged and resumed from previous.weights.h5 at step 5."
    )
    # Step 5 restored, then the 1 step epoch 2 lacked and the 3 of epoch 3.
    assert int(resumed.model.g_optimizer.iterations) == int(resumed.model.d_optimizer.iterations) == 9
    assert backed_up_steps(backup_dir) == 9
    assert (backup_dir / "latest.weights.h5.damaged").read_bytes() == damaged  # set aside, not deleted


def test_without_a_readable_state_the_error_says_how_to_start_afresh_and_deletes_nothing(backed_up_every_step):
    backup_dir = backed_up_every_step.run.backup_dir
    left = {name: cut_short(backup_dir / name) for name in ("latest.weights.h5", "previous.weights.h5")}

    with pytest.raises(BackupError, match=r"no readable backup in .*; start afresh with a new --run_dir") as error:
        train_toy(backup_dir.parent, epochs=3)

    assert "\n" not in str(error.value)
    assert {name: (backup_dir / name).read_bytes() for name in left} == left


def test_a_backup_whose_weights_file_does_not_record_its_steps_resumes_from_the_metadata_file(backed_up_every_step):

    backup_dir = backed_up_every_step.run.backup_dir
    (backup_dir / "previous.weights.h5").unlink()
    with h5py.File(backup_dir / "latest.weights.h5", "a") as weights_file:
        del weights_file.attrs["training_metadata"]  # as the backups of earlier versions were written

    resumed = train_toy(backup_dir.parent, epochs=3)

    assert int(resumed.model.g_optimizer.iterations) == 9  # step 6 restored, then the 3 steps of epoch 3
    assert backed_up_steps(backup_dir) == 9


def test_the_resumable_step_is_the_first_readable_state_s_own(backed_up_every_step):
    """latest records step 6, previous step 5: a rerun resumes from latest, else previous, else nowhere; a previous
    state without its steps is not read as latest's metadata file describes latest."""
    backup_dir = backed_up_every_step.run.backup_dir
    assert state_metadata(backup_dir / "previous.weights.h5")["completed_steps"] == 5
    assert resumable_step(backup_dir) == 6

    cut_short(backup_dir / "latest.weights.h5")
    assert resumable_step(backup_dir) == 5

    with h5py.File(backup_dir / "previous.weights.h5", "a") as weights_file:
        del weights_file.attrs["training_metadata"]
    with pytest.raises(KeyError, match="previous.weights.h5 records no training metadata"):
        state_metadata(backup_dir / "previous.weights.h5")
    assert resumable_step(backup_dir) is None
    assert resumable_step(backup_dir.parent / "no_backup") is None
