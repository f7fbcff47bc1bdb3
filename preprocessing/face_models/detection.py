"""BlazeFace (MediaPipe's short-range face detector) on numpy images.

The model sees the image letterboxed into 128x128 (padded to a square, so faces
keep their shape), RGB in [-1, 1], and answers, for each of its 896 anchors, a
score logit and 16 numbers: the box's centre, width and height and six
keypoints' (x, y), in 128-pixel units relative to the anchor. The decoding, the
anchors and the weighted non-maximum suppression follow MediaPipe's
face_detection_short_range graph (SsdAnchorsCalculator with strides 8, 16, 16,
16 and fixed-size anchors; TensorsToDetectionsCalculator with score clipping at
100 and a 0.5 threshold; weighted NMS at IoU 0.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from preprocessing import models
from preprocessing.face_models.runtime import DEFAULT_RUNTIME, TFLiteModel

MODEL_NAME = "face_detection_short_range"
# (feature-map side, anchors per cell): one stride-8 layer with 2 anchors, three stride-16 layers with 2 each.
ANCHOR_GRIDS = ((16, 2), (8, 6))
SCORE_CLIPPING = 100.0
MIN_SCORE = 0.5
NMS_IOU = 0.3
# Keypoint order of the model: the subject's right eye (image left), left eye, nose tip, mouth centre,
# right ear tragion, left ear tragion.
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear", "left_ear")


@dataclass(frozen=True)
class FaceDetection:
    """One face, in the image's pixels: box (x_min, y_min, width, height), 6x2 keypoints (x, y), score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


def ssd_anchor_centres() -> np.ndarray:
    """896x2 anchor centres (x, y) in [0, 1], in the model's output order (row by row, then per cell)."""
    centres = []
    for side, per_cell in ANCHOR_GRIDS:
        coordinates = (np.arange(side, dtype=np.float32) + 0.5) / side
        x, y = np.meshgrid(coordinates, coordinates)
        cell_centres = np.stack([x.reshape(-1), y.reshape(-1)], axis=1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    return np.concatenate(centres)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, input_side: int):
    """(Nx4 boxes as (x_centre, y_centre, w, h), Nx6x2 keypoints, N scores), all in [0, 1] of the input."""
    offsets = raw_boxes / input_side  # fixed-size anchors: width = height = 1
    boxes = offsets[:, :4].copy()
    boxes[:, :2] += anchors
    keypoints = offsets[:, 4:].reshape(-1, len(KEYPOINT_NAMES), 2) + anchors[:, None, :]
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -SCORE_CLIPPING, SCORE_CLIPPING)
    scores = 1.0 / (1.0 + np.exp(-logits))
    return boxes, keypoints, scores


def _corners(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], axis=1)


def intersection_over_union(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x_centre, y_centre, w, h) box with each of `boxes`."""
    first, others = _corners(box[None])[0], _corners(boxes)
    overlap = np.clip(np.minimum(first[2:], others[:, 2:]) - np.maximum(first[:2], others[:, :2]), 0, None)
    intersection = overlap[:, 0] * overlap[:, 1]
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - intersection
    return intersection / np.maximum(union, 1e-12)


def weighted_non_max_suppression(boxes, keypoints, scores, iou_threshold: float = NMS_IOU):
    """[(box, keypoints, score)]: each cluster of overlapping candidates averaged, weighted by score.

    The cluster's score is its best candidate's, as in MediaPipe's WEIGHTED mode.
    """
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.ones(len(scores), bool)
    faces = []
    for index in range(len(scores)):
        if not remaining[index]:
            continue
        cluster = remaining & (intersection_over_union(boxes[index], boxes) > iou_threshold)
        cluster[index] = True
        weights = scores[cluster] / scores[cluster].sum()
        faces.append(
            (
                (boxes[cluster] * weights[:, None]).sum(axis=0),
                (keypoints[cluster] * weights[:, None, None]).sum(axis=0),
                float(scores[index]),
            )
        )
        remaining &= ~cluster
    return faces


class FaceDetector:
    """`detect(rgb)`: the faces BlazeFace finds, best first; `largest_face(rgb)`: the biggest or None."""

    def __init__(self, model_file: str | Path, runtime: str = DEFAULT_RUNTIME, min_score: float = MIN_SCORE):
        self._model = TFLiteModel(model_file, runtime)
        self._anchors = ssd_anchor_centres()
        self._min_score = min_score

    @classmethod
    def load(cls, runtime: str = DEFAULT_RUNTIME) -> FaceDetector:
        """The model fetched by `python -m preprocessing.models fetch`; ModelUnavailableError if it is not there."""
        return cls(models.model_path(MODEL_NAME), runtime)

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]:
        side = self._model.input_size[0]
        letterboxed, square_side, (pad_x, pad_y) = letterbox(rgb, side)
        raw_boxes, raw_scores = self._model((letterboxed.astype(np.float32) / 127.5 - 1.0)[None])
        boxes, keypoints, scores = decode(raw_boxes[0], raw_scores[0], self._anchors, side)
        keep = scores >= self._min_score
        faces = []
        for box, points, score in weighted_non_max_suppression(boxes[keep], keypoints[keep], scores[keep]):
            x_centre, y_centre, width, height = box * square_side
            faces.append(
                FaceDetection(
                    box=(x_centre - width / 2 - pad_x, y_centre - height / 2 - pad_y, width, height),
                    keypoints=points * square_side - (pad_x, pad_y),
                    score=score,
                )
            )
        return faces

    def largest_face(self, rgb: np.ndarray) -> FaceDetection | None:
        faces = self.detect(rgb)
        return max(faces, key=lambda face: face.area) if faces else None


def letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, int, tuple[int, int]]:
    """(the image padded with black to a centred square, resized to side x side; the square's side; (pad_x, pad_y))."""
    height, width = rgb.shape[:2]
    square_side = max(height, width)
    pad_x, pad_y = (square_side - width) // 2, (square_side - height) // 2
    square = np.zeros((square_side, square_side, 3), np.uint8)
    square[pad_y : pad_y + height, pad_x : pad_x + width] = rgb
    interpolation = cv2.INTER_AREA if square_side > side else cv2.INTER_LINEAR
    return cv2.resize(square, (side, side), interpolation=interpolation), square_side, (pad_x, pad_y)
