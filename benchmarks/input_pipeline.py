"""Input pipeline throughput: Cartoon Set PNG folder -> 64x64 batches in [-1, 1].

Writes a folder of 500x500 RGBA PNGs + CSVs in the Cartoon Set format (the
built-in cartoon faces on a transparent background), then times in one run:
  * a plain single-threaded PIL loop doing the same work (decode, composite on
    white, centre crop, resize, normalise, batch);
  * the tf.data pipeline's first epoch (decode + cache fill) and its cached epochs.
Prints one JSON line.

    python -m benchmarks.input_pipeline [--images 500] [--cached_epochs 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.arguments import int_at_least
from preprocessing import cartoonset, image_io, synthetic
from preprocessing.pipeline import REPORT_CENTER_CROP_FRACTION, load_domain

SOURCE_SIZE, IMAGE_SIZE, BATCH_SIZE = 500, 64, 64


def write_cartoonset_folder(folder: Path, count: int) -> None:
    for index in range(count):
        record = synthetic.make_record("cartoon", seed=0, index=index, size=SOURCE_SIZE)
        rgba = np.dstack([record["image"], record["mask"]])  # transparent background, as the real set
        image_io.write_png(rgba, folder / f"cs{index:06d}.png")
        cartoonset.write_attribute_file(
            folder / f"cs{index:06d}.csv", record["attributes"], synthetic.ATTRIBUTE_VARIANTS
        )


def pil_loop(files: list[Path]) -> int:
    side = round(REPORT_CENTER_CROP_FRACTION * SOURCE_SIZE)
    offset = (SOURCE_SIZE - side) // 2
    white = Image.new("RGBA", (SOURCE_SIZE, SOURCE_SIZE), (255, 255, 255, 255))
    batch, count = [], 0
    for path in files:
        # Pillow's own C compositing: the fastest plain-PIL way, for a fair baseline.
        rgb = Image.alpha_composite(white, Image.open(path).convert("RGBA")).convert("RGB")
        crop = rgb.crop((offset, offset, offset + side, offset + side))
        small = np.asarray(crop.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR), np.float32)
        batch.append((small - 127.5) / 127.5)
        if len(batch) == BATCH_SIZE:
            count += len(np.stack(batch))
            batch = []
    return count


def take_images(batches, count: int) -> int:
    return sum(int(next(batches).shape[0]) for _ in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int_at_least(1), default=500, help="number of 500x500 RGBA PNGs to write")
    parser.add_argument("--cached_epochs", type=int_at_least(1), default=20, help="cached epochs to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_cartoonset_folder(folder, args.images)
        files = sorted(folder.glob("*.png"))

        start = time.perf_counter()
        pil_images = pil_loop(files)
        pil_seconds = time.perf_counter() - start

        # One endless iterator, as training reads it: the first epoch decodes and fills the cache.
        dataset = load_domain(f"cartoonset:{folder}", image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, crop="center")
        batches = iter(dataset)
        batches_per_epoch = args.images // BATCH_SIZE
        start = time.perf_counter()
        first_images = take_images(batches, batches_per_epoch)
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        cached_images = take_images(batches, batches_per_epoch * args.cached_epochs)
        cached_seconds = time.perf_counter() - start

    pil_rate, first_rate = pil_images / pil_seconds, first_images / first_seconds
    print(
        json.dumps(
            {
                "benchmark": "input_pipeline",
                "images": args.images,
                "source": f"{SOURCE_SIZE}x{SOURCE_SIZE} RGBA PNG + CSV (Cartoon Set format)",
                "output": f"{BATCH_SIZE}x{IMAGE_SIZE}x{IMAGE_SIZE}x3 float32 in [-1, 1], centre crop",
                "pil_loop_images_per_s": round(pil_rate, 1),
                "first_epoch_images_per_s": round(first_rate, 1),
                "cached_epoch_images_per_s": round(cached_images / cached_seconds, 1),
                "first_epoch_vs_pil_loop": round(first_rate / pil_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
