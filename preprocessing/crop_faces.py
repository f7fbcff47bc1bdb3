"""Centre and crop human faces.

usage: python -m preprocessing.crop_faces SRC DST [flags]

Every image under SRC is cut to a square centred on its face, --scale times
the size of the face, padded with white where it leaves the image, resized to
--size x --size and written to DST/<same relative path>.png. The face is taken,
in this order, from:
  1. the --landmarks table (CelebA list_landmarks_align_celeba.txt format) when
     it lists the file's name: centred between the eyes' and the mouth's midpoints;
  2. OpenCV's bundled Haar cascade (--detector haar, offline): the largest face;
  3. otherwise the largest centred square of the image.
The summary says how many faces each method handled. Unreadable files are
skipped and listed; SRC is never written to.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from absl import flags

from preprocessing import folder_job, image_io
from preprocessing.image_io import SquareWindow

LANDMARK_COLUMNS = (
    "lefteye_x",
    "lefteye_y",
    "righteye_x",
    "righteye_y",
    "nose_x",
    "nose_y",
    "leftmouth_x",
    "leftmouth_y",
    "rightmouth_x",
    "rightmouth_y",
)
HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"
# The Haar frontal-face box is about 2.5 eye-to-mouth distances wide (measured on
# aligned CelebA: ~105 px boxes for ~41 px), so --scale means the same for both methods.
FACE_SIZE_PER_EYE_MOUTH_DISTANCE = 2.5

BY_LANDMARKS = "faces placed by landmarks"
BY_DETECTOR = "faces found by the detector"
BY_CENTRE = "centre crops (no landmarks, no face detected)"


class LandmarkFileError(ValueError):
    """A landmark table that does not follow the CelebA format; the message names the line."""


def read_landmark_table(path: str | Path) -> dict[str, np.ndarray]:
    """`{image file name: 5x2 float32 (x, y)}` from a CelebA landmark file.

    Line 1 is the row count, line 2 the ten column names (LANDMARK_COLUMNS),
    then `000001.jpg 69 109 106 113 77 142 73 152 108 154` rows, whitespace
    separated; points in the order eyes (left, right), nose, mouth (left, right).
    """
    path = Path(path)
    try:
        lines = [line.split() for line in path.read_text().splitlines()]
    except UnicodeDecodeError as error:
        raise LandmarkFileError(f"{path}: not a text file ({error.reason})") from error
    if len(lines) < 2:
        raise LandmarkFileError(f"{path}: expected a count line and a header line")
    if len(lines[0]) != 1 or not lines[0][0].isdigit():
        got = " ".join(lines[0])
        raise LandmarkFileError(f"{path}:1: expected the number of rows, got {got!r}")
    if tuple(lines[1]) != LANDMARK_COLUMNS:
        raise LandmarkFileError(f"{path}:2: expected the columns {' '.join(LANDMARK_COLUMNS)}")
    table = {}
    for line_number, fields in enumerate(lines[2:], start=3):
        if not fields:
            continue
        try:
            coordinates = [float(value) for value in fields[1:]]
        except ValueError:
            coordinates = []
        if len(coordinates) != len(LANDMARK_COLUMNS):
            raise LandmarkFileError(f"{path}:{line_number}: expected a file name and {len(LANDMARK_COLUMNS)} numbers")
        table[fields[0]] = np.asarray(coordinates, np.float32).reshape(5, 2)
    if len(table) != int(lines[0][0]):
        # A short table is most often a truncated download.
        raise LandmarkFileError(f"{path}: line 1 announces {lines[0][0]} rows, found {len(table)}")
    return table


def landmark_window(points: np.ndarray, scale: float) -> SquareWindow:
    """The square centred between the eyes' and the mouth's midpoints.

    `points` are CelebA's 5x2 (x, y) pixel indices; a pixel index is the pixel's
    centre, half a pixel from its edge coordinate.
    """
    eyes_midpoint = points[0:2].mean(axis=0)
    mouth_midpoint = points[3:5].mean(axis=0)
    center = (eyes_midpoint + mouth_midpoint) / 2 + 0.5
    face_size = FACE_SIZE_PER_EYE_MOUTH_DISTANCE * np.linalg.norm(mouth_midpoint - eyes_midpoint)
    side = max(1, int(round(scale * face_size)))
    return SquareWindow(float(center[0]), float(center[1]), side)


def detection_window(detection: tuple[int, int, int, int], scale: float) -> SquareWindow:
    """The square centred on a detector's (x, y, width, height) box."""
    x, y, width, height = detection
    side = max(1, int(round(scale * max(width, height))))
    return SquareWindow(x + width / 2, y + height / 2, side)


def centre_window(image: np.ndarray) -> SquareWindow:
    """The largest square centred in the image."""
    height, width = image.shape[:2]
    return SquareWindow(width / 2, height / 2, min(height, width))


class HaarFaceDetector:
    """OpenCV's bundled frontal-face Haar cascade; works offline."""

    def __init__(self, min_face_size: int):
        self._cascade = cv2.CascadeClassifier(cv2.data.haarcascades + HAAR_CASCADE_FILE)
        if self._cascade.empty():
            raise folder_job.JobSetupError(f"cannot load OpenCV's {HAAR_CASCADE_FILE} from {cv2.data.haarcascades}")
        self._min_face_size = min_face_size

    def largest_face(self, rgb: np.ndarray) -> tuple[int, int, int, int] | None:
        """(x, y, width, height) of the largest face found, or None."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        faces = self._cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=5, minSize=(self._min_face_size,) * 2
        )
        if len(faces) == 0:
            return None
        return tuple(int(v) for v in max(faces, key=lambda face: face[2] * face[3]))


def face_window(
    rgb: np.ndarray,
    landmarks: np.ndarray | None,
    detector: HaarFaceDetector | None,
    scale: float,
) -> tuple[SquareWindow, str]:
    """(the crop square, the counter of the method that placed it)."""
    if landmarks is not None:
        return landmark_window(landmarks, scale), BY_LANDMARKS
    detection = detector.largest_face(rgb) if detector else None
    if detection is not None:
        return detection_window(detection, scale), BY_DETECTOR
    return centre_window(rgb), BY_CENTRE


def process_face(
    path: Path,
    size: int,
    scale: float,
    landmark_table: dict[str, np.ndarray],
    detector: HaarFaceDetector | None,
) -> folder_job.FileResult:
    rgb = image_io.read_rgb(path)
    window, method = face_window(rgb, landmark_table.get(path.name), detector, scale)
    cropped = image_io.crop_square(rgb, window, fill=image_io.WHITE)
    return folder_job.FileResult(image_io.resize_square(cropped, size), counters=(method,))


def define_flags() -> None:
    flags.DEFINE_integer("size", 128, "Side of the square output images, in pixels.", lower_bound=1)
    flags.DEFINE_string(
        "landmarks",
        None,
        "CelebA-format landmark table (list_landmarks_align_celeba.txt); rows are matched "
        "to images by file name. Images it does not list fall back to the detector.",
    )
    flags.DEFINE_float(
        "scale",
        1.6,
        "Side of the crop as a multiple of the face size (the detector's box width, or "
        f"{FACE_SIZE_PER_EYE_MOUTH_DISTANCE} eye-to-mouth distances for landmarks).",
        lower_bound=0.01,
    )
    flags.DEFINE_enum(
        "detector",
        "haar",
        ["haar", "none"],
        "Face detector for images without landmarks: OpenCV's bundled Haar cascade, or none (centre crop).",
    )
    flags.DEFINE_integer("min_face_size", 40, "Smallest face the detector reports, in pixels.", lower_bound=1)


def build_job() -> folder_job.FileJob:
    options = flags.FLAGS
    landmark_table = {}
    if options.landmarks:
        try:
            landmark_table = read_landmark_table(options.landmarks)
        except (OSError, LandmarkFileError) as error:
            raise folder_job.JobSetupError(f"--landmarks: {error}") from error
    detector = HaarFaceDetector(options.min_face_size) if options.detector == "haar" else None
    process = functools.partial(
        process_face,
        size=options.size,
        scale=options.scale,
        landmark_table=landmark_table,
        detector=detector,
    )
    return folder_job.FileJob(process, counter_names=(BY_LANDMARKS, BY_DETECTOR, BY_CENTRE))


if __name__ == "__main__":
    # Flags are defined here, not on import, so tests can import several CLIs at once.
    define_flags()
    folder_job.run_cli(build_job)
