"""crop_faces: the landmark table, the crop square of each method, and the CLI's own features."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from preprocessing import annotation_table, crop_faces
from preprocessing.image_io import SquareWindow
from preprocessing.sources import load_source

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


def test_landmark_window_puts_the_face_centre_in_the_middle_across_and_lower_down():
    window = crop_faces.landmark_window(POINTS, scale=2.0)
    # Pixel 70 spans [70, 71] in the window's edge coordinates.
    side = round(2.0 * crop_faces.FACE_SIZE_PER_EYE_MOUTH_DISTANCE * 30)
    assert window == SquareWindow(70.5, 90.5 + (0.5 - crop_faces.FACE_CENTRE_HEIGHT) * side, side)


def test_landmark_crop_places_the_face_centre_as_celeba_does_and_writes_its_landmarks(tmp_path):
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
    # The 75 px crop shrinks to 25 px: the marker becomes a 3x3 block in the middle column, 61% down.
    red = (result.image[..., 0] > 150) & (result.image[..., 1] < 100)
    rows, columns = np.nonzero(red)
    assert red.sum() == 9 and set(columns) == {11, 12, 13}
    assert rows.mean() == pytest.approx(crop_faces.FACE_CENTRE_HEIGHT * 25 - 0.5, abs=0.5)
    # The landmarks follow the pixels: the marker's centre is where the face centre lands.
    face_centre = (result.landmarks[:2].mean(axis=0) + result.landmarks[3:].mean(axis=0)) / 2
    np.testing.assert_allclose(face_centre, [columns.mean(), rows.mean()], atol=0.5)


def test_landmarks_in_crop_map_a_pixel_to_its_crop_pixel():
    window = SquareWindow(50.0, 40.0, 20)  # pixels 40..59 across, 30..49 down
    np.testing.assert_allclose(crop_faces.landmarks_in_crop(np.array([[40.0, 30.0]]), window, 20), [[0, 0]])
    np.testing.assert_allclose(crop_faces.landmarks_in_crop(np.array([[59.0, 49.0]]), window, 20), [[19, 19]])
    # Halving the size: pixels 40 and 41 become crop pixel 0, whose centre is their midpoint.
    np.testing.assert_allclose(crop_faces.landmarks_in_crop(np.array([[40.5, 30.5]]), window, 10), [[0, 0]])


def test_keypoint_landmarks_put_the_mouth_corners_along_the_eye_line():
    keypoints = np.array([[40, 50], [60, 50], [50, 60], [50, 70], [30, 50], [70, 50]], np.float32)
    points = crop_faces.landmarks_from_keypoints(keypoints)
    half = 10 * crop_faces.MOUTH_WIDTH_PER_EYE_DISTANCE
    np.testing.assert_allclose(points, [[40, 50], [60, 50], [50, 60], [50 - half, 70], [50 + half, 70]])


def test_detection_window_is_placed_on_the_box_centre_and_scaled():
    window = crop_faces.detection_window((10, 20, 40, 30), scale=1.5)
    assert window == SquareWindow(30.0, 35.0 + (0.5 - crop_faces.FACE_CENTRE_HEIGHT) * 60, 60)


def test_without_landmarks_or_detector_the_centre_square_is_used():
    image = np.zeros((30, 50, 3), np.uint8)
    window, points, method = crop_faces.face_window(image, landmarks=None, detector=None, scale=1.6)
    assert (window, points, method) == (SquareWindow(25.0, 15.0, 30), None, crop_faces.BY_CENTRE)


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
    assert "faces found by the Haar detector (no landmarks): 0" in result.stdout
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


def test_cli_blazeface_centres_each_face_by_its_mesh_landmarks_and_writes_them(
    synthetic_photo_folder, face_models, run_cli, tmp_path
):
    destination = tmp_path / "faces"
    result = run_cli("crop_faces", synthetic_photo_folder, destination, "--size", 64, "--detector", "blazeface")
    assert result.returncode == 0, result.stderr
    assert "faces found by BlazeFace, landmarks from the face mesh: 8" in result.stdout
    assert "landmarks:      8 rows in annotations.csv" in result.stdout
    header, rows = annotation_table.read_table(destination / annotation_table.ANNOTATIONS_FILE)
    assert header == annotation_table.header() and sorted(rows) == sorted(p.name for p in destination.glob("*.png"))
    for fields in rows.values():
        points = annotation_table.landmarks_of(fields)
        face_centre = (points[:2].mean(axis=0) + points[3:].mean(axis=0)) / 2
        # Where landmark_window puts it, up to the whole-pixel placement of the crop.
        np.testing.assert_allclose(face_centre, [31.5, crop_faces.FACE_CENTRE_HEIGHT * 64 - 0.5], atol=1.0)
        eye_mouth = np.linalg.norm(points[:2].mean(axis=0) - points[3:].mean(axis=0))
        assert eye_mouth == pytest.approx(
            64 / (crop_faces.DEFAULT_SCALE * crop_faces.FACE_SIZE_PER_EYE_MOUTH_DISTANCE), rel=0.05
        )
        assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]  # CelebA's left is the image's left


def test_folder_source_reads_the_landmarks_crop_faces_wrote(synthetic_photo_folder, face_models, run_cli, tmp_path):
    destination = tmp_path / "faces"
    assert run_cli("crop_faces", synthetic_photo_folder, destination, "--detector", "blazeface").returncode == 0
    _, rows = annotation_table.read_table(destination / annotation_table.ANNOTATIONS_FILE)
    source = load_source(f"folder:{destination}")
    records = list(source.dataset)
    assert len(records) == 8
    for record, image_id in zip(records, sorted(rows)):
        np.testing.assert_allclose(record["landmarks"].numpy(), annotation_table.landmarks_of(rows[image_id]))


def test_cli_blazeface_without_the_models_says_how_to_fetch_them(mixed_image_folder, run_cli, tmp_path):
    result = run_cli(
        "crop_faces",
        mixed_image_folder.path,
        tmp_path / "out",
        "--detector",
        "blazeface",
        env={"XGAN_TOOLKIT_MODELS": str(tmp_path / "no_models")},
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "preprocessing.models fetch" in result.stderr
    assert not (tmp_path / "out").exists()
