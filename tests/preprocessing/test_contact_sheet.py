"""contact_sheet: the layout of one folder or several side by side, and the landmarks drawn."""

from __future__ import annotations

import numpy as np
from PIL import Image

from preprocessing import annotation_table


def _folder(path, names, value):
    path.mkdir(parents=True)
    for name in names:
        Image.fromarray(np.full((20, 20, 3), value, np.uint8)).save(path / name)
    return path


def test_one_folder_wraps_into_rows_of_columns(run_cli, tmp_path):
    folder = _folder(tmp_path / "a", [f"{index}.png" for index in range(7)], 50)
    result = run_cli("contact_sheet", folder, "--out", tmp_path / "sheet.png", "--columns", 3, "--cell", 10)
    assert result.returncode == 0, result.stderr
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    assert sheet.shape == (3 * 12 - 2, 3 * 12 - 2, 3)  # 3 rows of 3 cells with 2 px gaps
    assert sheet[25, 5, 0] == 50 and sheet[25, 17, 0] == 255  # one image on the last row, white after it


def test_folders_side_by_side_match_names_across_suffixes_and_show_a_missing_one_grey(run_cli, tmp_path):
    first = _folder(tmp_path / "a", ["x.jpg", "y.jpg"], 50)
    second = _folder(tmp_path / "b", ["x.png"], 200)
    result = run_cli("contact_sheet", first, second, "--out", tmp_path / "sheet.png", "--cell", 10)
    assert result.returncode == 0, result.stderr
    assert "1 unreadable or missing" in result.stdout
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    assert sheet[17, 5, 0] == 200 and sheet[17, 17, 0] == 128  # b/x.png, then grey for the missing b/y


def test_landmarks_of_annotations_csv_are_drawn(run_cli, tmp_path):
    folder = _folder(tmp_path / "a", ["x.png"], 255)
    points = np.array([[4, 4], [15, 4], [10, 10], [6, 15], [14, 15]], np.float32)
    table = {"x.png": annotation_table.row("x.png", points)}
    annotation_table.write_table(folder / annotation_table.ANNOTATIONS_FILE, annotation_table.header(), table)
    result = run_cli("contact_sheet", folder, "--out", tmp_path / "sheet.png", "--cell", 20, "--landmarks")
    assert result.returncode == 0, result.stderr
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    assert tuple(sheet[4, 4]) == (255, 0, 0) and tuple(sheet[10, 10]) == (0, 160, 0)


def test_without_a_folder_it_fails_in_one_line(run_cli, tmp_path):
    result = run_cli("contact_sheet", "--out", tmp_path / "sheet.png")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
