"""crop_faces: the landmark table, the crop square of each method, and the CLI's own features."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from preprocessing import crop_faces
from preprocessing.image_io import SquareWindow

HEADER = " ".join(crop_faces.LANDMARK_COLUMNS)
FLAGS = ("--size", "--landmarks", "--scale", "--detector", "--min_face_size")
# Eyes at y = 75, mouth corners at y = 105, all centred on x = 70: the face centre
# (between the eyes' and the mouth's midpoints) is pixel (x, y) = (70, 90); the
# eye-to-mouth distance is 30.
POINTS = np.array([[55, 75], [85, 75], [70, 88], [60, 105], [80, 105]], np.float32)


def _landmark_file(path, rows: dict[str, list[int]], count: int | None = None):
    lines = [str(len(rows) if count is None else count), HEADER]
    lines += [f"{name} " + " ".join(map(str, values)) for name, values in rows.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_landmark_table_is_parsed_by_file_name(tmp_path):
    path = _landmark_file(
        tmp_path / "landmarks.txt",
        {
            "000001.jpg": [69, 109, 106, 113, 77, 142, 73, 152, 108, 154],
            "000002.jpg": [69, 110, 107, 112, 81, 135, 70, 151, 108, 153],
        },
    )
    table = crop_faces.read_landmark_table(path)
    assert sorted(table) == ["000001.jpg", "000002.jpg"]
    assert table["000001.jpg"].shape == (5, 2)
    assert table["000001.jpg"].tolist() == [[69, 109], [106, 113], [77, 142], [73, 152], [108, 154]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\nx_a y_a\n000001.jpg 1 2 3 4 5 6 7 8 9 10\n", ":2: expected the columns"),
        (f"one\n{HEADER}\n", ":1: expected the number of rows"),
        (f"1\n{HEADER}\n000001.jpg 1 2 3\n", ":3: expected a file name and 10 numbers"),
        (f"1\n{HEADER}\n000001.jpg 1 2 3 4 5 6 7 8 9 ten\n", ":3: expected a file name"),
        (f"3\n{HEADER}\n000001.jpg 1 2 3 4 5 6 7 8 9 10\n", "announces 3 rows, found 1"),
    ],
)
def test_malformed_landmark_table_names_the_line(tmp_path, text, message):
    path = tmp_path / "landmarks.txt"
    path.write_text(text)
    with pytest.raises(crop_faces.LandmarkFileError, match=message):
        crop_faces.read_landmark_table(path)


def test_landmark_window_centres_the_eyes_and_mouth_midpoint():
    window = crop_faces.landmark_window(POINTS, scale=2.0)
    # Pixel 70 spans [70, 71] in the window's edge coordinates.
    side = round(2.0 * crop_faces.FACE_SIZE_PER_EYE_MOUTH_DISTANCE * 30)
    assert window == SquareWindow(70.5, 90.5, side)


def test_landmark_crop_puts_the_face_centre_in_the_middle(tmp_path):
    image = np.full((200, 160, 3), 255, np.uint8)
    image[86:95, 66:75] = (200, 0, 0)  # a 9x9 marker centred on pixel (70, 90)
    Image.fromarray(image).save(tmp_path / "face.png")
    result = crop_faces.process_face(
        tmp_path / "face.png",
        size=25,
        scale=1.0,
        landmark_table={"face.png": POINTS},
        detector=None,
    )
    assert result.counters == (crop_faces.BY_LANDMARKS,)
    # The 75 px crop shrinks to 25 px: the marker becomes the 3x3 block in the middle.
    red = (result.image[..., 0] > 150) & (result.image[..., 1] < 100)
    assert red[11:14, 11:14].all() and red.sum() == 9


def test_detection_window_is_centred_on_the_box_and_scaled():
    assert crop_faces.detection_window((10, 20, 40, 30), scale=1.5) == SquareWindow(30.0, 35.0, 60)


def test_without_landmarks_or_detector_the_centre_square_is_used():
    image = np.zeros((30, 50, 3), np.uint8)
    window, method = crop_faces.face_window(image, landmarks=None, detector=None, scale=1.6)
    assert (window, method) == (SquareWindow(25.0, 15.0, 30), crop_faces.BY_CENTRE)


def test_bundled_haar_cascade_loads_offline_and_finds_nothing_in_a_flat_image():
    detector = crop_faces.HaarFaceDetector(min_face_size=20)
    assert detector.largest_face(np.full((120, 120, 3), 128, np.uint8)) is None


def test_cli_reports_the_method_of_each_face(mixed_image_folder, run_cli, tmp_path):
    folder, good, _ = mixed_image_folder
    landmarks = _landmark_file(
        tmp_path / "landmarks.txt",
        {
            "face_1.png": [30, 50, 60, 50, 45, 65, 35, 80, 55, 80],
            "face_2.png": [25, 35, 55, 35, 40, 45, 30, 60, 50, 60],
        },
    )
    destination = tmp_path / "out"
    result = run_cli("crop_faces", folder, destination, "--landmarks", landmarks, "--detector", "none")
    assert result.returncode == 0, result.stderr
    assert "faces placed by landmarks: 2" in result.stdout
    assert "faces found by the detector: 0" in result.stdout
    assert f"centre crops (no landmarks, no face detected): {len(good) - 2}" in result.stdout
    assert Image.open(destination / "sub" / "face_2.png").size == (128, 128)


def test_cli_with_a_bad_landmark_table_fails_with_one_line(mixed_image_folder, run_cli, tmp_path):
    landmarks = tmp_path / "landmarks.txt"
    landmarks.write_text("not a landmark table\n")
    result = run_cli("crop_faces", mixed_image_folder.path, tmp_path / "out", "--landmarks", landmarks)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and str(landmarks) in result.stderr
    assert not (tmp_path / "out").exists()


def test_help_describes_every_flag(run_cli):
    result = run_cli("crop_faces", "--help")
    assert "python -m preprocessing.crop_faces SRC DST" in result.stdout
    for flag in FLAGS:
        assert flag in result.stdout
