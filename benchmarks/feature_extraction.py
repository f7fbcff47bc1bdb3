"""InceptionV3 feature-extraction throughput: images/s of the extractor FID, KID and IS run on.

    python -m benchmarks.feature_extraction [--batch_size 32] [--batches 5] [--input_size 64]

Times `evaluation.features.load_inception` (random weights: the same FLOPs as
ImageNet's, and no download) on batches of random images of --input_size,
which it resizes to --inception_size (299) as it does in `evaluation.score`,
after one warm-up batch that traces the function. Prints one JSON line: the
throughput and how long 50k images (the usual FID sample) would take.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from benchmarks.arguments import int_at_least
from evaluation.features import INCEPTION_SIZE, load_inception

FID_SAMPLE = 50_000


def random_weights_file(directory: Path, inception_size: int) -> Path:
    path = directory / "inception_random.weights.h5"
    keras.applications.InceptionV3(
        include_top=True, weights=None, input_shape=(inception_size, inception_size, 3)
    ).save_weights(path)
    return path


def images_per_second(extractor, batch_size: int, batches: int, input_size: int) -> float:
    images = np.random.default_rng(0).uniform(-1, 1, (batch_size, input_size, input_size, 3)).astype("float32")
    extractor(images)  # trace
    start = time.perf_counter()
    for _ in range(batches):
        pool, probabilities = extractor(images)
        np.asarray(pool), np.asarray(probabilities)  # wait for the results, as extract_activations does
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch_size", type=int_at_least(1), default=32, help="images per batch")
    parser.add_argument("--batches", type=int_at_least(1), default=5, help="timed batches")
    parser.add_argument(
        "--input_size", type=int_at_least(1), default=64, help="side of the images fed in (resized to 299)"
    )
    parser.add_argument(
        "--inception_size",
        type=int_at_least(75),
        default=INCEPTION_SIZE,
        help="InceptionV3's input side (299 for real scores; smaller only for quick tests)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        extractor = load_inception(str(random_weights_file(Path(directory), args.inception_size)), args.inception_size)
        rate = images_per_second(extractor, args.batch_size, args.batches, args.input_size)
    print(
        json.dumps(
            {
                "benchmark": "feature_extraction",
                "model": "InceptionV3 (avg_pool + predictions)",
                "batch_size": args.batch_size,
                "input_size": args.input_size,
                "inception_size": args.inception_size,
                "images_per_s": round(rate, 2),
                "minutes_per_50k_images": round(FID_SAMPLE / rate / 60, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
