"""A full disk stops a folder-to-folder CLI at once, in one line, with the outputs written before it whole."""

from __future__ import annotations

import sys

import numpy as np
from PIL import Image

from preprocessing import folder_job, image_io
from preprocessing.atomic_files import TEMPORARY_PREFIX
from tests.full_disk import small_tmpfs, writes_failing_to


def _copy_job() -> folder_job.FileJob:
    return folder_job.FileJob(lambda path: folder_job.FileResult(image_io.read_rgb(path)))


def _write_images(folder, count: int, side: int = 8) -> None:
    """`count` PNGs of noise (which does not compress: each output takes its full size on the disk)."""
    folder.mkdir(parents=True)
    random = np.random.default_rng(0)
    for index in range(count):
        Image.fromarray(random.integers(0, 256, (side, side, 3), np.uint8)).save(folder / f"{index:02d}.png")


def test_an_output_cut_short_stops_the_run_in_one_line_and_keeps_the_earlier_outputs(tmp_path, capsys, monkeypatch):
    source, destination = tmp_path / "src", tmp_path / "dst"
    _write_images(source, 4)
    monkeypatch.setattr(sys, "argv", ["crop_cartoons"])

    with writes_failing_to("02.png"):
        exit_code = folder_job._main(["crop_cartoons", str(source), str(destination)], _copy_job)

    captured = capsys.readouterr()
    assert exit_code == folder_job.EXIT_STOPPED
    assert [line for line in captured.err.splitlines() if "error" in line] == [
        f"crop_cartoons: error: cannot write {destination / '02.png'}: no space left on the device; "
        f"stopped after writing 2 of 4 images to {destination}; free space, then rerun the same command"
    ]
    assert captured.out == ""  # no summary block
    assert sorted(path.name for path in destination.iterdir()) == ["00.png", "01.png"]
    for name in ("00.png", "01.png"):
        assert np.array_equal(image_io.read_rgb(destination / name), image_io.read_rgb(source / name))


def test_a_real_full_disk_stops_crop_cartoons_in_one_line(tmp_path, run_cli):
    source = tmp_path / "src"
    _write_images(source, 12, side=64)  # about 12 KB an output: 144 KB in all
    with small_tmpfs(tmp_path / "small_disk", "64k") as destination:
        result = run_cli("crop_cartoons", source, destination, "--size", "64", "--margin", "0")
        written = sorted(path.name for path in destination.iterdir())

        assert result.returncode == folder_job.EXIT_STOPPED, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        [line] = [line for line in result.stderr.splitlines() if "error" in line]
        assert line.startswith(f"crop_cartoons: error: cannot write {destination}/")
        assert f"no space left on the device; stopped after writing {len(written)} of 12 images" in line
        assert 0 < len(written) < 12 and not any(name.startswith(TEMPORARY_PREFIX) for name in written)
        for name in written:
            assert image_io.read_rgb(destination / name).shape == (64, 64, 3)
