"""The real-face preprocessing steps, timed and counted in one run.

    python -m benchmarks.face_preprocessing [--folder DIR] [--count 32] [--repeats 2]

On the images of DIR (default: --count built-in photos, 178x218 like CelebA's
aligned crops), prints one JSON line with:
  * each MediaPipe model's images/s (pre- and post-processing included) under
    the LiteRT and the tf.lite interpreter, and their ratio;
  * crop_faces: images/s and the share of faces found, with --detector
    blazeface (BlazeFace + face mesh) and haar;
  * remove_background on the BlazeFace crops (as the README prepares faces):
    images/s and the images with no subject found (which are not written),
    with --method selfie and grabcut.
Each timing is the best of --repeats passes over the images (a shared machine
only ever slows one down).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.arguments import int_at_least
from preprocessing import crop_faces, folder_job, image_io, models, remove_background, synthetic
from preprocessing.face_models import FaceDetector, FaceMesh, PersonSegmenter
from preprocessing.face_models.runtime import RUNTIMES

CELEBA_SIZE = (178, 218)
CROP_SIZE = 128


def built_in_photos(folder: Path, count: int) -> None:
    """`count` built-in photos resized to CelebA's aligned size, as PNGs."""
    from PIL import Image

    folder.mkdir(parents=True)
    for index in range(count):
        image = synthetic.make_record("photo", 0, index, CELEBA_SIZE[1])["image"]
        Image.fromarray(image).resize(CELEBA_SIZE).save(folder / f"{index:06d}.png")


def best_rate(function, items, repeats: int) -> tuple[float, list]:
    """(items/s of the fastest pass of `function` over `items`, the results of the last pass)."""
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        results = [function(item) for item in items]
        best = max(best, len(items) / (time.perf_counter() - start))
    return round(best, 1), results


def runtime_figures(images: list[np.ndarray], repeats: int) -> dict:
    figures = {}
    for runtime in RUNTIMES:
        segmenter, detector = PersonSegmenter.load(runtime), FaceDetector.load(runtime)
        mesh = FaceMesh.load(runtime)
        faces = [detector.largest_face(image) for image in images]
        pairs = [(image, face) for image, face in zip(images, faces) if face is not None]
        figures[f"selfie_{runtime}_images_per_s"] = best_rate(segmenter.person_mask, images, repeats)[0]
        figures[f"blazeface_{runtime}_images_per_s"] = best_rate(detector.detect, images, repeats)[0]
        figures[f"face_mesh_{runtime}_images_per_s"] = best_rate(
            lambda pair, mesh=mesh: mesh.landmarks(*pair), pairs, repeats
        )[0]
    for model in ("selfie", "blazeface", "face_mesh"):
        ratio = figures[f"{model}_litert_images_per_s"] / figures[f"{model}_tensorflow_images_per_s"]
        figures[f"{model}_litert_vs_tensorflow"] = round(ratio, 2)
    return figures


def crop_figures(files: list[Path], out: Path, repeats: int) -> dict:
    """crop_faces per detector; the BlazeFace crops are written to `out` for remove_background."""
    figures = {}
    for name in ("blazeface", "haar"):
        detector = crop_faces.build_detector(name, min_face_size=40)

        def crop(path: Path, detector=detector):
            return crop_faces.process_face(path, CROP_SIZE, crop_faces.DEFAULT_SCALE, {}, detector)

        rate, results = best_rate(crop, files, repeats)
        found = sum(result.counters[0] != crop_faces.BY_CENTRE for result in results)
        figures[f"crop_faces_{name}_images_per_s"] = rate
        figures[f"crop_faces_{name}_faces_found"] = f"{found}/{len(files)}"
        if name == "blazeface":
            out.mkdir()
            for path, result in zip(files, results):
                image_io.write_png(result.image, out / f"{path.stem}.png")
    return figures


def background_figures(files: list[Path], repeats: int) -> dict:
    segmenter = PersonSegmenter.load()
    methods = {
        "selfie": lambda path: remove_background.process_with_selfie(path, segmenter, "white", keep_failed=False),
        "grabcut": lambda path: remove_background.process_with_grabcut(path, 0.05, 5, "white", keep_failed=False),
    }
    figures = {}
    for name, process in methods.items():

        def no_subject(path: Path, process=process) -> bool:
            try:
                process(path)
            except folder_job.NoSubjectFound:
                return True
            return False

        rate, results = best_rate(no_subject, files, repeats)
        figures[f"remove_background_{name}_images_per_s"] = rate
        figures[f"remove_background_{name}_no_subject"] = f"{sum(results)}/{len(files)}"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="images to measure on (default: built-in photos)")
    parser.add_argument("--count", type=int_at_least(1), default=32, help="built-in photos without --folder")
    parser.add_argument("--repeats", type=int_at_least(1), default=2, help="passes timed per figure; the best is kept")
    args = parser.parse_args()
    try:
        for name in models.MODELS:
            models.model_path(name)
    except models.ModelUnavailableError as error:
        parser.error(str(error))
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch) / "photos"
            built_in_photos(folder, args.count)
        files = image_io.list_images(folder)
        images = [image_io.read_rgb(path) for path in files]
        crops = Path(scratch) / "crops"
        figures = {"benchmark": "face_preprocessing", "images": len(files), "folder": str(args.folder or "built-in")}
        figures |= runtime_figures(images, args.repeats)
        figures |= crop_figures(files, crops, args.repeats)
        figures |= background_figures(image_io.list_images(crops), args.repeats)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
