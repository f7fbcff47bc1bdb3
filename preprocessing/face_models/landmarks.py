"""MediaPipe's face mesh (468 landmarks) on numpy images, and CelebA's 5 points from it.

As in MediaPipe's face_landmark graph, the model sees a square region around a
BlazeFace detection: the detection's box grown 1.5 times (its long side), turned
so that the eyes are level, resampled to 192x192, RGB in [0, 1]. It answers
468 (x, y, z) points in that region's pixels and a face-presence logit.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from preprocessing import models
from preprocessing.face_models.detection import FaceDetection
from preprocessing.face_models.runtime import DEFAULT_RUNTIME, TFLiteModel

MODEL_NAME = "face_landmark"
REGION_SCALE = 1.5
MIN_PRESENCE = 0.5
# Mesh points behind CelebA's 5 landmarks (image-left eye, image-right eye, nose, image-left and
# image-right mouth corners): an eye is the midpoint of its two corners, the nose its tip.
CELEBA_MESH_POINTS = ((33, 133), (362, 263), (1,), (61,), (291,))


def region_transform(detection: FaceDetection, side: int) -> np.ndarray:
    """2x3 affine map from the region's pixels (side x side) to the image's pixels."""
    x_min, y_min, width, height = detection.box
    centre = np.array([x_min + width / 2, y_min + height / 2])
    right_eye, left_eye = detection.keypoints[0], detection.keypoints[1]
    angle = np.arctan2(left_eye[1] - right_eye[1], left_eye[0] - right_eye[0])
    scale = REGION_SCALE * max(width, height) / side
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([rotation, (centre - rotation @ np.full(2, side / 2))[:, None]])


def celeba_landmarks(mesh: np.ndarray) -> np.ndarray:
    """5x2 float32 (x, y) in CelebA's order from 468x2 mesh points."""
    return np.stack([mesh[list(indices)].mean(axis=0) for indices in CELEBA_MESH_POINTS]).astype(np.float32)


class FaceMesh:
    """`landmarks(rgb, detection)`: 468x2 (x, y) image pixels, or None when the model sees no face."""

    def __init__(self, model_file: str | Path, runtime: str = DEFAULT_RUNTIME, min_presence: float = MIN_PRESENCE):
        self._model = TFLiteModel(model_file, runtime)
        self._min_presence = min_presence

    @classmethod
    def load(cls, runtime: str = DEFAULT_RUNTIME) -> FaceMesh:
        """The model fetched by `python -m preprocessing.models fetch`; ModelUnavailableError if it is not there."""
        return cls(models.model_path(MODEL_NAME), runtime)

    def landmarks(self, rgb: np.ndarray, detection: FaceDetection) -> np.ndarray | None:
        side = self._model.input_size[0]
        to_image = region_transform(detection, side)
        region = cv2.warpAffine(
            rgb, to_image, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
        )
        raw_points, presence_logit = self._model((region.astype(np.float32) / 255.0)[None])
        if 1.0 / (1.0 + np.exp(-float(presence_logit.reshape(-1)[0]))) < self._min_presence:
            return None
        points = raw_points.reshape(-1, 3)[:, :2]
        return points @ to_image[:, :2].T + to_image[:, 2]
