"""The MediaPipe face models on the built-in photos: the person mask, BlazeFace, the face mesh, the runtimes.

Thresholds were measured on synthetic photos (seed 0) at 128 px and leave a
margin: the person mask covers at least 93% of every head mask (mean 99%) and
its IoU with the head over the head's rows averages 0.85 (the mask also holds
the shoulders, which the head mask does not); BlazeFace finds 32 of 32 faces and
the mesh's CelebA points lie 0.08 eye-to-mouth distances from the true ones on
average, 0.17 at worst.
"""

from __future__ import annotations

import numpy as np
import pytest

from preprocessing import synthetic
from preprocessing.face_models import FaceDetection, celeba_landmarks, detection, landmarks
from preprocessing.face_models.runtime import TFLiteModel

PHOTOS = [synthetic.make_record("photo", 0, index, 128) for index in range(16)]


def _eye_mouth_distance(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[:2].mean(axis=0) - points[3:].mean(axis=0)))


def test_person_mask_covers_the_head_of_every_photo(face_models):
    coverages, head_rows_iou = [], []
    for record in PHOTOS:
        person = face_models.segmenter.person_mask(record["image"]) >= 0.5
        head = record["mask"] > 127
        coverages.append((person & head).sum() / head.sum())
        rows = slice(0, np.nonzero(head.any(axis=1))[0].max() + 1)
        head_rows_iou.append((person[rows] & head[rows]).sum() / (person[rows] | head[rows]).sum())
    assert min(coverages) > 0.9
    assert np.mean(head_rows_iou) > 0.8


def test_person_mask_is_a_probability_map_of_the_image_size(face_models):
    mask = face_models.segmenter.person_mask(np.full((100, 70, 3), 255, np.uint8))
    assert mask.shape == (100, 70) and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1
    assert (mask >= 0.5).mean() < 0.01  # a blank page holds no person


def test_blazeface_finds_every_face_and_the_mesh_places_celeba_landmarks(face_models):
    errors = []
    for record in PHOTOS:
        face = face_models.detector.largest_face(record["image"])
        assert face is not None
        mesh = face_models.mesh.landmarks(record["image"], face)
        assert mesh is not None and mesh.shape == (468, 2)
        truth = record["landmarks"]
        errors.append(np.linalg.norm(celeba_landmarks(mesh) - truth, axis=1).mean() / _eye_mouth_distance(truth))
    assert np.mean(errors) < 0.12 and max(errors) < 0.25


def test_blazeface_keypoints_and_box_surround_the_true_eyes(face_models):
    record = PHOTOS[0]
    face = face_models.detector.largest_face(record["image"])
    x_min, y_min, width, height = face.box
    eyes = record["landmarks"][:2]
    assert np.all((eyes[:, 0] > x_min) & (eyes[:, 0] < x_min + width))
    assert np.all((eyes[:, 1] > y_min) & (eyes[:, 1] < y_min + height))
    # Keypoint 0 is the image-left eye, CelebA's lefteye.
    assert np.linalg.norm(face.keypoints[0] - eyes[0]) < 0.3 * _eye_mouth_distance(record["landmarks"])


def test_no_face_in_a_blank_image(face_models):
    assert face_models.detector.detect(np.full((128, 128, 3), 255, np.uint8)) == []


def test_anchors_follow_the_ssd_layout_of_the_short_range_model():
    anchors = detection.ssd_anchor_centres()
    assert anchors.shape == (896, 2)
    # 16x16 cells with 2 anchors each, then 8x8 cells with 6 each, row by row.
    np.testing.assert_allclose(anchors[0], anchors[1])
    np.testing.assert_allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[2], [1.5 / 16, 0.5 / 16])
    np.testing.assert_allclose(anchors[32], [0.5 / 16, 1.5 / 16])
    np.testing.assert_allclose(anchors[512:518], np.tile([0.5 / 8, 0.5 / 8], (6, 1)))
    np.testing.assert_allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


def test_decode_offsets_boxes_and_keypoints_from_their_anchor():
    anchors = np.array([[0.25, 0.5]], np.float32)
    raw = np.zeros((1, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 32.0, 64.0]  # in 128-pixel units
    raw[0, 4:6] = [6.4, 0.0]
    boxes, keypoints, scores = detection.decode(raw, np.array([[0.0]]), anchors, 128)
    np.testing.assert_allclose(boxes[0], [0.35, 0.45, 0.25, 0.5], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 0], [0.3, 0.5], atol=1e-6)
    np.testing.assert_allclose(keypoints[0, 1], [0.25, 0.5], atol=1e-6)
    assert scores[0] == pytest.approx(0.5)


def test_weighted_nms_averages_a_cluster_by_score_and_keeps_separate_faces():
    boxes = np.array([[0.5, 0.5, 0.2, 0.2], [0.52, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]], np.float32)
    keypoints = np.zeros((3, 6, 2), np.float32)
    keypoints[1] += 1.0
    scores = np.array([0.9, 0.6, 0.8])
    faces = detection.weighted_non_max_suppression(boxes, keypoints, scores)
    assert [score for _, _, score in faces] == [0.9, 0.8]
    np.testing.assert_allclose(faces[0][0][0], (0.9 * 0.5 + 0.6 * 0.52) / 1.5)
    np.testing.assert_allclose(faces[0][1], np.full((6, 2), 0.6 / 1.5))
    np.testing.assert_allclose(faces[1][0], boxes[2])


def test_letterbox_pads_to_a_centred_square():
    image = np.full((40, 20, 3), 200, np.uint8)
    square, side, (pad_x, pad_y) = detection.letterbox(image, 8)
    assert square.shape == (8, 8, 3) and side == 40 and (pad_x, pad_y) == (10, 0)
    assert square[:, 0].max() == 0 and square[:, 4].min() == 200


def test_mesh_region_is_the_face_box_grown_and_turned_level_with_the_eyes():
    keypoints = np.zeros((6, 2))
    keypoints[0], keypoints[1] = (40, 60), (60, 40)  # the eye line rises 45 degrees to the image right
    face = FaceDetection(box=(30.0, 30.0, 40.0, 40.0), keypoints=keypoints, score=1.0)
    to_image = landmarks.region_transform(face, 192)
    centre = to_image[:, :2] @ [96, 96] + to_image[:, 2]
    np.testing.assert_allclose(centre, [50, 50])
    # The region's x axis runs along the eye line and spans 1.5 box widths.
    step = to_image[:, :2] @ [192, 0]
    np.testing.assert_allclose(step, 60 * np.array([np.sqrt(0.5), -np.sqrt(0.5)]), atol=1e-9)


def test_celeba_landmarks_average_the_eye_corners():
    mesh = np.zeros((468, 2))
    mesh[33], mesh[133], mesh[362], mesh[263] = (10, 20), (20, 20), (40, 20), (50, 22)
    mesh[1], mesh[61], mesh[291] = (30, 35), (18, 45), (42, 45)
    np.testing.assert_allclose(celeba_landmarks(mesh), [[15, 20], [45, 21], [30, 35], [18, 45], [42, 45]])


def test_both_runtimes_give_the_same_person_mask(face_models):
    from preprocessing import models

    image = (PHOTOS[0]["image"].astype(np.float32) / 255.0)[None]
    image = np.ascontiguousarray(np.resize(image, (1, 256, 256, 3)))
    outputs = [
        TFLiteModel(models.model_path("selfie_segmentation"), runtime)(image)[0] for runtime in ("litert", "tensorflow")
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-4)
