"""Where the face sits in CelebA's aligned crops, as the face mesh sees it: the numbers behind crop_faces' margins.

    python -m experiments.celeba_crop_geometry FOLDER    # e.g. img_align_celeba (178x218 JPEGs)

For every image of FOLDER in which BlazeFace and the face mesh find a face,
takes CelebA's 5 landmarks and measures, in eye-to-mouth distances (from the
eyes' midpoint to the mouth corners' midpoint), the image's width and height
and how far down its face centre (halfway between those midpoints) lies, as a
fraction of the height. Prints one JSON line with the means and standard deviations.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from preprocessing import image_io
from preprocessing.face_models import FaceDetector, FaceMesh, celeba_landmarks


def face_geometry(rgb: np.ndarray, detector: FaceDetector, mesh: FaceMesh) -> dict | None:
    face = detector.largest_face(rgb)
    points = mesh.landmarks(rgb, face) if face is not None else None
    if points is None:
        return None
    landmarks = celeba_landmarks(points)
    eyes, mouth = landmarks[:2].mean(axis=0), landmarks[3:].mean(axis=0)
    distance = float(np.linalg.norm(mouth - eyes))
    height, width = rgb.shape[:2]
    return {
        "width_in_eye_mouth_distances": width / distance,
        "height_in_eye_mouth_distances": height / distance,
        "face_centre_height_fraction": ((eyes[1] + mouth[1]) / 2 + 0.5) / height,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="CelebA aligned crops")
    args = parser.parse_args()
    detector, mesh = FaceDetector.load(), FaceMesh.load()
    files = image_io.list_images(args.folder)
    measured = [face_geometry(image_io.read_rgb(path), detector, mesh) for path in files]
    found = [row for row in measured if row is not None]
    summary = {"images": len(files), "faces_measured": len(found)}
    for name in found[0]:
        values = np.array([row[name] for row in found])
        summary[f"{name}_mean"], summary[f"{name}_std"] = round(float(values.mean()), 3), round(float(values.std()), 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
