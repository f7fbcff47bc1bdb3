"""The U-GAT-IT report's FID table (baseline vs keypoint loss), and the keypoint error of the reconstructions.

usage: python -m experiments.ugatit_keypoint_fid --runs baseline=RUN,keypoint=RUN
           [--out runs/ugatit_fid] [--num_images 500] [--features inception|classifier] [--score_flags "..."]

For each trained `ugatit.train` run on the built-in faces (`make train-ugatit`,
with and without UGATIT_FLAGS="--keypoint_loss=m2 ..."), as a user would:

    python -m ugatit.translate --run_dir RUN --direction face2cartoon --input FACES --output RUN/test_face2cartoon
    python -m ugatit.translate --run_dir RUN --direction cartoon2face --input RUN/test_face2cartoon \\
        --output RUN/test_reconstructed
    python -m ugatit.translate --run_dir RUN --direction cartoon2face --input CARTOONS --output RUN/test_cartoon2face
    python -m evaluation.score --real folder:FACES --fake folder:RUN/test_reconstructed --metrics fid ...

FACES and CARTOONS are --num_images held-out records of the built-in domains
(the same people in both, no run has seen them), at the run's size and face
background. The report's three columns: human -> reconstructed (FACES vs the
reconstructions), human -> anime (CARTOONS vs the translated faces), anime ->
human (FACES vs the translated cartoons). OUT/fid.md has one row per run, and
the report's figures beside them, labelled as the report's, on its data.

The keypoint error (pixels) of the reconstructions against the held-out
faces' true landmarks is measured by a keypoint predictor
(`ugatit.keypoints`) trained here on built-in photos, the same for every run,
beside its own error on the real faces (the floor).

--features=inception is the report's measure: it needs the ImageNet
InceptionV3 weights (a GPU VM, Colab; or --score_flags=
"--inception_weights=PATH"). Where they cannot be had, --features=classifier
computes FID on the penultimate features of the attribute classifier of each
column's domain (`evaluation.score --features`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from experiments.scoring import check_uncropped, heldout_records, score_cell, score_command
from preprocessing import annotation_table, image_io
from preprocessing.pipeline import load_domain, normalize_images
from training.run import RunLayout
from ugatit import keypoints

# {column: (what is translated, how, the domain the real images come from)}
COLUMNS = {
    "human -> reconstructed": ("photo", ("face2cartoon", "cartoon2face"), "photo"),
    "human -> anime": ("photo", ("face2cartoon",), "cartoon"),
    "anime -> human": ("cartoon", ("cartoon2face",), "photo"),
}
# Figure 7 of the report: FID at 50K iterations on its test sets (CelebA -> selfie2anime's anime), InceptionV3.
REPORT_FID = {"baseline": (149.25, 133.49, 137.68), "keypoint": (121.16, 144.0, 140.07)}
TABLE_FILE = "fid.md"
PREDICTOR_BATCH_SIZE = 16


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True, help="comma-separated NAME=RUN_DIR of trained ugatit.train runs")
    parser.add_argument("--out", type=Path, default=Path("runs/ugatit_fid"), help="held-out images and the table")
    parser.add_argument("--num_images", type=int, default=500, help="held-out images per built-in domain")
    parser.add_argument(
        "--features",
        choices=("inception", "classifier"),
        default="inception",
        help="inception (InceptionV3, the report's), or classifier: each column's domain's attribute classifier",
    )
    parser.add_argument("--score_flags", default="", help="extra evaluation.score flags, space-separated")
    parser.add_argument(
        "--predictor_epochs", type=int, default=10, help="epochs of the keypoint predictor that measures the error"
    )
    parser.add_argument(
        "--predictor_images", type=int, default=2048, help="built-in photos that keypoint predictor trains on"
    )
    args = parser.parse_args(argv)
    try:
        args.runs = dict(pair.split("=", 1) for pair in args.runs.split(","))
    except ValueError:
        parser.error(f"--runs: expected NAME=RUN_DIR[,NAME=RUN_DIR], got {args.runs!r}")
    if args.num_images < 2:
        parser.error(f"--num_images must be at least 2, got {args.num_images}")
    return args


def translate(run_dir: Path, direction: str, inputs: Path, output: Path) -> Path:
    command = [sys.executable, "-m", "ugatit.translate", f"--run_dir={run_dir}", f"--direction={direction}"]
    subprocess.run([*command, f"--input={inputs}", f"--output={output}"], check=True)
    return output


def translated_folders(run_dir: Path, heldout: dict) -> dict:
    """{column: the folder of its translations}, translating the held-out images as each column needs."""
    faces = translate(run_dir, "face2cartoon", heldout["photo"], run_dir / "test_face2cartoon")
    return {
        "human -> reconstructed": translate(run_dir, "cartoon2face", faces, run_dir / "test_reconstructed"),
        "human -> anime": faces,
        "anime -> human": translate(run_dir, "cartoon2face", heldout["cartoon"], run_dir / "test_cartoon2face"),
    }


def column_fid(args: argparse.Namespace, real: Path, fake: Path, domain: str, config: dict, output: Path) -> dict:
    """FID of `fake` against `real` (images of `domain`); on the photo classifier, trained on photos with the
    background the run's faces had."""
    features = "inception" if args.features == "inception" else f"{domain}_classifier"
    extra = [f"--photo_background={config['face_background']}"] if features == "photo_classifier" else []
    command = score_command(
        real, fake, "fid", features, config["image_size"], output, [*extra, *args.score_flags.split()]
    )
    subprocess.run(command, check=True)
    return json.loads(output.read_text())["fid"]


def landmarked_images(folder: Path, landmarks_folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(the folder's images in [-1, 1], the true landmarks of the same file names in landmarks_folder's
    annotations.csv, whose image ids are file names)."""
    _, rows = annotation_table.read_table(landmarks_folder / annotation_table.ANNOTATIONS_FILE)
    names = sorted(rows)
    images = np.stack([image_io.read_rgb(folder / name) for name in names])
    points = np.stack([annotation_table.landmarks_of(rows[name]) for name in names])
    return keras.ops.convert_to_numpy(normalize_images(images)), points


def trained_predictor(args: argparse.Namespace, size: int, background: str) -> keras.Model:
    """A keypoint predictor trained on built-in photos (not the held-out ones) at the runs' size and background."""
    keras.utils.set_random_seed(0)
    predictor = keypoints.keypoint_predictor(size)
    data = load_domain(
        f"synthetic:photo:{args.predictor_images}",
        image_size=size,
        batch_size=PREDICTOR_BATCH_SIZE,
        background=background,
        with_metadata=True,
        repeat=False,
    ).map(lambda batch: {"image": batch["image"], "landmarks": batch["landmarks"]})
    keypoints.train_predictor(predictor, keras.optimizers.Adam(1e-3), data, args.predictor_epochs)
    return predictor


def keypoint_error(predictor: keras.Model, folder: Path, landmarks_folder: Path) -> float:
    images, points = landmarked_images(folder, landmarks_folder)
    predicted = predictor.predict(images, verbose=0)
    return float(keypoints.mean_keypoint_error(predicted, points, images.shape[1]))


def evaluate_run(args: argparse.Namespace, name: str, run_dir: Path, predictor) -> dict:
    config = RunLayout.open(run_dir).read_config()
    size = config["image_size"]
    heldout = {
        "photo": heldout_records(args.out, "photo", size, config["face_background"], args.num_images),
        "cartoon": heldout_records(args.out, "cartoon", size, "keep", args.num_images),
    }
    folders = translated_folders(run_dir, heldout)
    fids = {
        column: column_fid(args, heldout[real], folders[column], real, config, args.out / f"{name}_{index}.json")
        for index, (column, (_, _, real)) in enumerate(COLUMNS.items())
    }
    error = keypoint_error(predictor, folders["human -> reconstructed"], heldout["photo"])
    return {"fid": fids, "keypoint_error": error, "config": config}


def markdown_table(results: dict, features: str, floor: float) -> str:
    label = "InceptionV3" if features == "inception" else "each column's attribute classifier, not InceptionV3"
    lines = [
        "| run | " + " | ".join(f"{column} FID ({label})" for column in COLUMNS) + " | keypoint error (px) |",
        "| --- | " + " | ".join("---:" for _ in COLUMNS) + " | ---: |",
    ]
    for name, found in results.items():
        cells = [score_cell("fid", found["fid"][column]) for column in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {found['keypoint_error']:.2f} |")
    for name, figures in REPORT_FID.items():
        lines.append(
            f"| report's {name} (InceptionV3, its data, 50K iterations) | " + " | ".join(map(str, figures)) + " | |"
        )
    counts = next(iter(results.values()))["fid"]["human -> anime"]["counts"]
    lines += [
        "",
        f"FID sample counts: {counts}. Keypoint error: mean distance of the predicted landmarks of the "
        f"reconstructions to the true ones; the same predictor on the real held-out faces: {floor:.2f} px.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    configs = {name: RunLayout.open(Path(run)).read_config() for name, run in args.runs.items()}
    try:
        for config in configs.values():
            for side in ("face", "cartoon"):
                check_uncropped(config, side)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size, background = next((config["image_size"], config["face_background"]) for config in configs.values())
    predictor = trained_predictor(args, size, background)
    try:
        results = {name: evaluate_run(args, name, Path(run), predictor) for name, run in args.runs.items()}
    except subprocess.CalledProcessError as error:
        print(f"error: {' '.join(error.cmd[2:4])} ... exited with {error.returncode}", file=sys.stderr)
        return error.returncode
    floor = keypoint_error(predictor, *(2 * [heldout_records(args.out, "photo", size, background, args.num_images)]))
    table = markdown_table(results, args.features, floor)
    (args.out / TABLE_FILE).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
