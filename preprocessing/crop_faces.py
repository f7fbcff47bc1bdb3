"""Centre and crop human faces, and write their landmarks.

usage: python -m preprocessing.crop_faces SRC DST [flags]

Every image under SRC is cut to a square around its face, --scale times the
size of the face, padded with white where it leaves the image, resized to
--size x --size and written to DST/<same relative path>.png. The face sits as
in CelebA's aligned crops, the report's faces: centred across, with the face
centre (halfway between the eyes and the mouth) 61% of the way down, so the
hair above it is kept.
The face is taken, in this order, from:
  1. the --landmarks table (CelebA list_landmarks_align_celeba.txt format) when
     it lists the file's name;
  2. the detector (--detector): BlazeFace, then MediaPipe's face mesh for CelebA's
     5 landmarks (estimated from BlazeFace's keypoints where the mesh sees no
     face), or OpenCV's bundled Haar cascade (a box, no landmarks): the largest face;
  3. otherwise the largest centred square of the image.
The 5 landmarks of every face placed by landmarks are written, in the output's
pixels, to DST/annotations.csv, which the `folder:` source reads. The summary
says how many faces each method handled. Unreadable files are skipped and
listed; SRC is never written to.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from absl import flags

from preprocessing import folder_job, image_io, models
from preprocessing.annotation_table import LANDMARK_COLUMNS
from preprocessing.face_models import FaceDetector, FaceMesh, celeba_landmarks
from preprocessing.image_io import SquareWindow

HAAR_CASCADE_FILE = "haarcascade_frontalface_default.xml"
# The Haar frontal-face box is about 2.5 eye-to-mouth distances wide (measured on
# aligned CelebA: ~105 px boxes for ~41 px), so --scale means the same for both methods.
FACE_SIZE_PER_EYE_MOUTH_DISTANCE = 2.5
# CelebA's aligned crops (178x218) are 5.4 eye-to-mouth distances high, with the eyes-mouth
# midpoint 0.61 of the height down (docs/experiments.md): --scale's default (2.15 x 2.5) and this
# keep their margins above the hair and below the chin, in a square.
FACE_CENTRE_HEIGHT = 0.61
DEFAULT_SCALE = 2.15
# CelebA's mean mouth (35 px) is 0.95 of its mean eye distance (37 px): the mouth corners BlazeFace's
# mouth-centre keypoint stands for when the mesh sees no face.
MOUTH_WIDTH_PER_EYE_DISTANCE = 0.95
DETECTORS = ("blazeface", "haar", "none")

BY_LANDMARKS = "faces placed by landmarks"
BY_FACE_MESH = "faces found by BlazeFace, landmarks from the face mesh"
BY_BLAZEFACE_KEYPOINTS = "faces found by BlazeFace, landmarks estimated from its keypoints"
BY_HAAR = "faces found by the Haar detector (no landmarks)"
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


def face_square(face_centre_x: float, face_centre_y: float, side: int) -> SquareWindow:
    """The square of `side` with the face centre in the middle across and FACE_CENTRE_HEIGHT down."""
    return SquareWindow(face_centre_x, face_centre_y + (0.5 - FACE_CENTRE_HEIGHT) * side, side)


def landmark_window(points: np.ndarray, scale: float) -> SquareWindow:
    """The square around the face centre (between the eyes' and the mouth's midpoints).

    `points` are CelebA's 5x2 (x, y) pixel indices; a pixel index is the pixel's
    centre, half a pixel from its edge coordinate.
    """
    eyes_midpoint = points[0:2].mean(axis=0)
    mouth_midpoint = points[3:5].mean(axis=0)
    center = (eyes_midpoint + mouth_midpoint) / 2 + 0.5
    face_size = FACE_SIZE_PER_EYE_MOUTH_DISTANCE * np.linalg.norm(mouth_midpoint - eyes_midpoint)
    return face_square(float(center[0]), float(center[1]), max(1, int(round(scale * face_size))))


def detection_window(detection: tuple[int, int, int, int], scale: float) -> SquareWindow:
    """The square around the centre of a detector's (x, y, width, height) box."""
    x, y, width, height = detection
    return face_square(x + width / 2, y + height / 2, max(1, int(round(scale * max(width, height)))))


def landmarks_in_crop(points: np.ndarray, window: SquareWindow, size: int) -> np.ndarray:
    """Pixel-index landmarks of the source -> those of the window resized to `size`."""
    left, top = window.top_left()
    return ((points - (left, top) + 0.5) * (size / window.side) - 0.5).astype(np.float32)


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


class BlazeFaceLandmarker:
    """CelebA's 5 landmarks of the largest face BlazeFace finds, from the face mesh where it sees the face."""

    def __init__(self, detector: FaceDetector, mesh: FaceMesh):
        self._detector, self._mesh = detector, mesh

    def largest_face(self, rgb: np.ndarray) -> tuple[np.ndarray, str] | None:
        """(5x2 pixel-index landmarks, the counter of how they were found), or None without a face."""
        face = self._detector.largest_face(rgb)
        if face is None:
            return None
        mesh = self._mesh.landmarks(rgb, face)
        if mesh is not None:
            return celeba_landmarks(mesh), BY_FACE_MESH
        return landmarks_from_keypoints(face.keypoints), BY_BLAZEFACE_KEYPOINTS


def landmarks_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """CelebA's 5 points from BlazeFace's eyes, nose tip and mouth centre: the corners along the eye line."""
    image_left_eye, image_right_eye, nose, mouth_centre = keypoints[:4]
    half_mouth = (image_right_eye - image_left_eye) * MOUTH_WIDTH_PER_EYE_DISTANCE / 2
    points = [image_left_eye, image_right_eye, nose, mouth_centre - half_mouth, mouth_centre + half_mouth]
    return np.stack(points).astype(np.float32)


def face_window(
    rgb: np.ndarray,
    landmarks: np.ndarray | None,
    detector: BlazeFaceLandmarker | HaarFaceDetector | None,
    scale: float,
) -> tuple[SquareWindow, np.ndarray | None, str]:
    """(the crop square, the face's 5 landmarks or None, the counter of the method that placed it)."""
    if landmarks is not None:
        return landmark_window(landmarks, scale), landmarks, BY_LANDMARKS
    if isinstance(detector, BlazeFaceLandmarker):
        found = detector.largest_face(rgb)
        if found is not None:
            points, method = found
            return landmark_window(points, scale), points, method
    elif detector is not None:
        box = detector.largest_face(rgb)
        if box is not None:
            return detection_window(box, scale), None, BY_HAAR
    return centre_window(rgb), None, BY_CENTRE


def process_face(
    path: Path,
    size: int,
    scale: float,
    landmark_table: dict[str, np.ndarray],
    detector: BlazeFaceLandmarker | HaarFaceDetector | None,
) -> folder_job.FileResult:
    rgb = image_io.read_rgb(path)
    window, points, method = face_window(rgb, landmark_table.get(path.name), detector, scale)
    cropped = image_io.crop_square(rgb, window, fill=image_io.WHITE)
    return folder_job.FileResult(
        image_io.resize_square(cropped, size),
        counters=(method,),
        landmarks=None if points is None else landmarks_in_crop(points, window, size),
    )


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
        DEFAULT_SCALE,
        "Side of the crop as a multiple of the face size (the Haar box's width, or "
        f"{FACE_SIZE_PER_EYE_MOUTH_DISTANCE} eye-to-mouth distances for landmarks); the default spans "
        "CelebA's aligned crops from top to bottom.",
        lower_bound=0.01,
    )
    flags.DEFINE_enum(
        "detector",
        "blazeface" if models.models_available() else "haar",
        DETECTORS,
        "Face detector for images without --landmarks: blazeface (MediaPipe's BlazeFace and face mesh, "
        "fetched by `python -m preprocessing.models fetch`; the default when they are there), haar "
        "(OpenCV's bundled Haar cascade; the default otherwise; no landmarks), or none (centre crop).",
    )
    flags.DEFINE_integer("min_face_size", 40, "haar: smallest face the detector reports, in pixels.", lower_bound=1)


def build_job() -> folder_job.FileJob:
    options = flags.FLAGS
    landmark_table = {}
    if options.landmarks:
        try:
            landmark_table = read_landmark_table(options.landmarks)
        except (OSError, LandmarkFileError) as error:
            raise folder_job.JobSetupError(f"--landmarks: {error}") from error
    process = functools.partial(
        process_face,
        size=options.size,
        scale=options.scale,
        landmark_table=landmark_table,
        detector=build_detector(options.detector, options.min_face_size),
    )
    counters = (BY_LANDMARKS, BY_FACE_MESH, BY_BLAZEFACE_KEYPOINTS, BY_HAAR, BY_CENTRE)
    return folder_job.FileJob(process, counter_names=counters)


def build_detector(name: str, min_face_size: int) -> BlazeFaceLandmarker | HaarFaceDetector | None:
    if name == "haar":
        return HaarFaceDetector(min_face_size)
    if name == "blazeface":
        try:
            return BlazeFaceLandmarker(FaceDetector.load(), FaceMesh.load())
        except models.ModelUnavailableError as error:
            raise folder_job.JobSetupError(f"--detector blazeface: {error}") from None
    return None


if __name__ == "__main__":
    # Flags are defined here, not on import, so tests can import several CLIs at once.
    define_flags()
    folder_job.run_cli(build_job)
