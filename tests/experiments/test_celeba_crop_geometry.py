"""experiments.celeba_crop_geometry measures a face's place in its image as the true landmarks give it."""

import numpy as np
import pytest

from experiments.celeba_crop_geometry import face_geometry
from preprocessing import synthetic


def test_face_geometry_matches_the_true_landmarks_of_a_photo(face_models):
    record = synthetic.make_record("photo", 0, 3, 128)
    truth = record["landmarks"]
    eyes, mouth = truth[:2].mean(axis=0), truth[3:].mean(axis=0)
    distance = np.linalg.norm(mouth - eyes)
    measured = face_geometry(record["image"], face_models.detector, face_models.mesh)
    assert measured["width_in_eye_mouth_distances"] == pytest.approx(128 / distance, rel=0.1)
    assert measured["face_centre_height_fraction"] == pytest.approx(((eyes[1] + mouth[1]) / 2 + 0.5) / 128, abs=0.02)


def test_no_face_gives_no_geometry(face_models):
    assert face_geometry(np.full((64, 64, 3), 255, np.uint8), face_models.detector, face_models.mesh) is None
