"""MediaPipe selfie segmentation: a soft person mask (face, hair, shoulders).

The model sees the whole image stretched to 256x256, RGB in [0, 1], and answers
a 256x256 map of person probabilities (its last layer is a sigmoid), which is
stretched back to the image's size: the stretch cancels out, so no letterbox
is needed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from preprocessing import models
from preprocessing.face_models.runtime import DEFAULT_RUNTIME, TFLiteModel

MODEL_NAME = "selfie_segmentation"


class PersonSegmenter:
    """`person_mask(rgb)`: HxW float32 in [0, 1], 1 on the person."""

    def __init__(self, model_file: str | Path, runtime: str = DEFAULT_RUNTIME):
        self._model = TFLiteModel(model_file, runtime)

    @classmethod
    def load(cls, runtime: str = DEFAULT_RUNTIME) -> PersonSegmenter:
        """The model fetched by `python -m preprocessing.models fetch`; ModelUnavailableError if it is not there."""
        return cls(models.model_path(MODEL_NAME), runtime)

    def person_mask(self, rgb: np.ndarray) -> np.ndarray:
        height, width = rgb.shape[:2]
        model_height, model_width = self._model.input_size
        resized = cv2.resize(rgb, (model_width, model_height), interpolation=cv2.INTER_AREA)
        (probabilities,) = self._model((resized.astype(np.float32) / 255.0)[None])
        mask = cv2.resize(probabilities[0, ..., 0], (width, height), interpolation=cv2.INTER_LINEAR)
        return np.clip(mask, 0.0, 1.0)
