"""Under a multi-worker strategy only the chief writes the run's files; the other workers back up on their own."""

from __future__ import annotations

import tensorflow as tf

from tests.training.conftest import fit_toy, toy_config
from training import run


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
