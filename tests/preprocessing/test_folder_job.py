"""The machinery every preprocessing CLI shares, and the contract each CLI keeps through it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from preprocessing import annotation_table, folder_job, image_io

# (CLI module, flags, side of the square outputs or None when the output keeps the source size)
CLI_CASES = [
    ("crop_cartoons", ["--size", "32"], 32),
    ("crop_faces", ["--size", "40"], 40),
    ("remove_background", ["--method", "grabcut", "--iterations", "2"], None),
]
CLI_IDS = [module for module, _, _ in CLI_CASES]


def test_mixed_folder_fixture_keeps_its_contract(mixed_image_folder):
    folder, good, bad = mixed_image_folder
    listed = {path.relative_to(folder).as_posix() for path in image_io.list_images(folder)}
    assert listed == set(good) | set(bad)
    for name in good:
        assert image_io.read_rgb(folder / name).ndim == 3
    for name in bad:
        with pytest.raises(image_io.UnreadableImageError, match=name):
            image_io.read_rgb(folder / name)
    assert (folder / "face_1.csv").is_file()


@pytest.mark.parametrize("module, flags, output_side", CLI_CASES, ids=CLI_IDS)
def test_cli_on_mixed_folder_writes_good_lists_bad_and_leaves_source_untouched(
    module, flags, output_side, mixed_image_folder, run_cli, file_hashes, tmp_path
):
    folder, good, bad = mixed_image_folder
    before = file_hashes(folder)
    destination = tmp_path / "out"
    result = run_cli(module, folder, destination, *flags)
    assert result.returncode == 0, result.stderr
    assert file_hashes(folder) == before
    for name in good:
        output = Image.open((destination / name).with_suffix(".png"))
        source_size = Image.open(folder / name).size
        assert output.size == ((output_side, output_side) if output_side else source_size)
    for name in bad:
        assert not (destination / name).with_suffix(".png").exists()
        assert str(folder / name) in result.stdout
    assert f"written:        {len(good)}" in result.stdout
    assert f"skipped:        {len(bad)}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def _non_empty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("module", CLI_IDS)
def test_cli_on_empty_folder_fails_with_one_line_naming_it(module, run_cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    result = run_cli(module, empty, tmp_path / "out")
    assert result.returncode != 0
    lines = _non_empty_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert str(empty) in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("module", CLI_IDS)
def test_cli_refuses_destination_inside_source(module, mixed_image_folder, run_cli, file_hashes):
    folder = mixed_image_folder.path
    before = file_hashes(folder)
    result = run_cli(module, folder, folder / "out")
    assert result.returncode != 0
    assert len(_non_empty_lines(result.stderr)) == 1, result.stderr
    assert "DST must not be SRC or inside SRC" in result.stderr
    assert file_hashes(folder) == before


@pytest.mark.parametrize("module", CLI_IDS)
def test_cli_without_destination_gives_one_line_usage_error(module, mixed_image_folder, run_cli):
    result = run_cli(module, mixed_image_folder.path)
    assert result.returncode == folder_job.EXIT_USAGE
    lines = _non_empty_lines(result.stderr)
    assert len(lines) == 1 and "SRC DST" in lines[0], result.stderr


@pytest.mark.parametrize(
    "destination, message",
    [(".", "must not be SRC"), ("sub/out", "inside SRC"), ("..", "must not contain SRC")],
)
def test_check_folders_refuses_overlapping_folders(mixed_image_folder, destination, message):
    folder = mixed_image_folder.path
    with pytest.raises(folder_job.JobSetupError, match=message):
        folder_job.check_folders(folder, folder / destination)


def test_check_folders_names_a_missing_source(tmp_path):
    with pytest.raises(folder_job.JobSetupError, match="missing: SRC is not an existing folder"):
        folder_job.check_folders(tmp_path / "missing", tmp_path / "out")


def test_output_path_keeps_sub_folders_and_uses_png(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    output = folder_job.output_path_for(source / "a" / "b" / "photo.JPG", source, destination)
    assert output == destination / "a" / "b" / "photo.png"


def _write_image(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(path)
    return path


def _inverting_job(stop_at: str | None = None, skip: str | None = None) -> folder_job.FileJob:
    """Inverts each image; raises StopJob at file `stop_at` and SkipFile at file `skip`."""

    def process(path: Path) -> folder_job.FileResult:
        if path.name == stop_at:
            raise folder_job.StopJob("out of credit")
        if path.name == skip:
            raise folder_job.SkipFile("refused")
        sidecar = path.with_suffix(".csv")
        return folder_job.FileResult(
            255 - image_io.read_rgb(path),
            counters=("inverted",),
            sidecars=(sidecar,) if sidecar.exists() else (),
        )

    return folder_job.FileJob(process, counter_names=("inverted", "never used"))


def test_process_folder_writes_skips_and_copies_sidecars(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    _write_image(source / "a.png", 10)
    _write_image(source / "a.jpg", 20)  # same output name as a.png: skipped, not overwritten
    _write_image(source / "deep" / "b.png", 30)
    (source / "deep" / "b.csv").write_text('"hair", 1, 111\n')
    _write_image(source / "c.png", 40)
    (source / "broken.png").write_bytes(b"not a png")
    files = folder_job.check_folders(source, destination)

    summary = folder_job.process_folder(source, destination, files, _inverting_job(skip="c.png"))

    assert summary.written == [destination / "a.png", destination / "deep" / "b.png"]
    # a.jpg sorts first, so it is the one written; JPEG may shift a flat grey by a level.
    assert np.allclose(np.asarray(Image.open(destination / "a.png")), 255 - 20, atol=2)
    assert (destination / "deep" / "b.csv").read_text() == '"hair", 1, 111\n'
    assert [message.split(":")[0] for message in summary.skipped] == [
        str(source / "a.png"),
        str(source / "broken.png"),
        str(source / "c.png"),
    ]
    assert "same output" in summary.skipped[0] and "refused" in summary.skipped[2]
    assert summary.counters == {"inverted": 2, "never used": 0}
    assert summary.stop_reason is None


def test_stop_job_ends_the_run_and_lists_the_files_left(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    for name in ("a.png", "b.png", "c.png"):
        _write_image(source / name, 0)
    files = folder_job.check_folders(source, destination)

    summary = folder_job.process_folder(source, destination, files, _inverting_job(stop_at="b.png"))

    assert summary.written == [destination / "a.png"]
    assert summary.not_processed == [source / "b.png", source / "c.png"]
    text = folder_job.format_summary(summary)
    assert "stopped early:  out of credit" in text
    assert f"    - {source / 'c.png'}" in text
    assert "never used: 0" in text


def _landmark_job(no_subject: str | None = None, keeps_geometry: bool = False) -> folder_job.FileJob:
    """Copies each image; places landmarks on it unless it keeps the geometry; no subject in `no_subject`."""

    def process(path: Path) -> folder_job.FileResult:
        if path.name == no_subject:
            raise folder_job.NoSubjectFound("nothing there")
        landmarks = None if keeps_geometry else np.full((5, 2), image_io.read_rgb(path)[0, 0, 0] / 10, np.float32)
        return folder_job.FileResult(image_io.read_rgb(path), landmarks=landmarks)

    return folder_job.FileJob(process, keeps_geometry=keeps_geometry)


def test_landmarks_of_the_written_images_go_to_annotations_beside_earlier_rows(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    for name, value in (("a.png", 10), ("sub/b.png", 20), ("c.png", 30)):
        _write_image(source / name, value)
    destination.mkdir()
    table = destination / annotation_table.ANNOTATIONS_FILE
    annotation_table.write_table(
        table, annotation_table.header(), {"old.png": annotation_table.row("old.png", np.zeros((5, 2)))}
    )
    files = folder_job.check_folders(source, destination)

    summary = folder_job.process_folder(source, destination, files, _landmark_job(no_subject="c.png"))

    assert summary.written == [destination / "a.png", destination / "sub" / "b.png"]
    assert summary.no_subject == [f"{source / 'c.png'}: nothing there"] and summary.skipped == []
    assert not (destination / "c.png").exists()
    _, rows = annotation_table.read_table(table)
    assert sorted(rows) == ["a.png", "old.png", "sub/b.png"]
    np.testing.assert_allclose(annotation_table.landmarks_of(rows["sub/b.png"]), np.full((5, 2), 2.0))
    text = folder_job.format_summary(summary)
    assert "no subject found, not written: 1" in text and "landmarks:      2 rows in annotations.csv" in text


def test_a_job_that_keeps_the_geometry_carries_the_source_rows_and_their_attributes(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    _write_image(source / "a.jpg", 10)
    _write_image(source / "b.png", 20)
    header = annotation_table.header(("hair_color",))
    rows = {"a.jpg": annotation_table.row("a.jpg", np.ones((5, 2)), (3,))}  # b.png has no row
    annotation_table.write_table(source / annotation_table.ANNOTATIONS_FILE, header, rows)
    files = folder_job.check_folders(source, destination)

    folder_job.process_folder(source, destination, files, _landmark_job(keeps_geometry=True))

    assert annotation_table.read_table(destination / annotation_table.ANNOTATIONS_FILE) == (
        header,
        {"a.png": ["a.png", *rows["a.jpg"][1:]]},
    )


def test_a_destination_table_with_other_columns_stops_the_run_before_anything_is_written(tmp_path):
    source, destination = tmp_path / "src", tmp_path / "dst"
    _write_image(source / "a.png", 10)
    destination.mkdir()
    annotation_table.write_table(destination / annotation_table.ANNOTATIONS_FILE, annotation_table.header(("age",)), {})
    files = folder_job.check_folders(source, destination)
    with pytest.raises(annotation_table.AnnotationsError, match="exists with other columns"):
        folder_job.process_folder(source, destination, files, _landmark_job())
    assert not (destination / "a.png").exists()
