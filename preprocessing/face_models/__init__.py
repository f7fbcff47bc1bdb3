"""The MediaPipe face models, run on numpy images.

`PersonSegmenter` (selfie segmentation: a soft person mask that keeps the hair),
`FaceDetector` (BlazeFace, short range) and `FaceMesh` (468 face landmarks, of
which `celeba_landmarks` picks CelebA's 5). The model files come from the
mediapipe wheel (`python -m preprocessing.models fetch`); they run on the
LiteRT interpreter (`runtime.py`).
"""

from preprocessing.face_models.detection import FaceDetection, FaceDetector
from preprocessing.face_models.landmarks import FaceMesh, celeba_landmarks
from preprocessing.face_models.segmentation import PersonSegmenter

__all__ = ["FaceDetection", "FaceDetector", "FaceMesh", "PersonSegmenter", "celeba_landmarks"]
