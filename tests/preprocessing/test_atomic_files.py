"""Files written whole or not at all, and a failed write said in one line."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from PIL import Image

from preprocessing import atomic_files, image_io
from tests.full_disk import small_tmpfs, writes_failing_to


def test_a_write_that_succeeds_replaces_the_target_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "deeper" / "notes.txt"
    target.parent.mkdir()
    target.write_text("old")

    with atomic_files.replaced_atomically(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.endswith("notes.txt")
        temporary.write_text("new")
        assert target.read_text() == "old"  # readers see the old file until the block ends

    assert target.read_text() == "new"
    assert sorted(path.name for path in target.parent.iterdir()) == ["notes.txt"]


def test_a_write_that_fails_leaves_the_target_untouched_and_no_temporary(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")

    with pytest.raises(atomic_files.WriteError) as raised:
        with atomic_files.replaced_atomically(target) as temporary:
            temporary.write_text("half")
            raise OSError(errno.ENOSPC, "No space left on device")

    assert str(raised.value) == f"cannot write {target}: no space left on the device"
    assert raised.value.remedy == "free space"
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_other_os_errors_keep_their_first_line_and_other_errors_pass_through(tmp_path):
    target = tmp_path / "a.png"
    with pytest.raises(atomic_files.WriteError, match=r"a\.png: Permission denied$") as raised:
        with atomic_files.replaced_atomically(target):
            raise PermissionError(errno.EACCES, "Permission denied")
    assert raised.value.remedy == "fix that"
    with pytest.raises(ValueError, match="not an image"):
        with atomic_files.replaced_atomically(target) as temporary:
            temporary.write_bytes(b"x")
            raise ValueError("not an image")
    assert list(tmp_path.iterdir()) == []


def test_a_png_cut_short_by_a_full_disk_leaves_the_previous_png(tmp_path):
    target = tmp_path / "out.png"
    image_io.write_png(np.zeros((8, 8, 3), np.uint8), target)

    with writes_failing_to("out.png"), pytest.raises(atomic_files.WriteError, match="no space left on the device"):
        image_io.write_png(np.full((64, 64, 3), 200, np.uint8), target)

    assert np.asarray(Image.open(target)).max() == 0
    assert [path.name for path in tmp_path.iterdir()] == ["out.png"]


def test_a_cli_ends_a_failed_write_in_one_line_with_exit_code_1(tmp_path, capsys):
    target = tmp_path / "grid.png"

    with pytest.raises(SystemExit) as exited, atomic_files.write_failures_in_one_line():
        with writes_failing_to("grid.png"):
            image_io.write_png(np.zeros((8, 8, 3), np.uint8), target)

    assert exited.value.code == atomic_files.EXIT_WRITE_FAILED == 1
    assert capsys.readouterr().err == (
        f"error: cannot write {target}: no space left on the device; free space, then rerun the same command\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_synthetic_preview_cli_on_a_full_disk_says_so_in_one_line(tmp_path, run_cli):
    disk = tmp_path / "disk"
    with small_tmpfs(disk, "4k"):
        result = run_cli("synthetic", f"--preview={disk / 'preview.png'}")
        left = sorted(path.name for path in disk.iterdir())

    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {disk / 'preview.png'}: no space left on the device; free space, then rerun the same "
        "command"
    ]
    assert left == []
