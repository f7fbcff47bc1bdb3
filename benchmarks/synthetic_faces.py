"""Synthetic face throughput: images/s of `preprocessing.synthetic.make_record` on one core.

Times the cartoon and photo domains at 64 and 128 px in one run, after a
warm-up that fills the per-size geometry caches (as in any real stream of
records). The process is pinned to one CPU and OpenCV to one thread; time is
the process's CPU time, so other load on a shared machine does not count.
Prints one JSON line.

    python -m benchmarks.synthetic_faces [--images 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import cv2

from benchmarks.arguments import int_at_least
from preprocessing import synthetic

CASES = (("cartoon", 64), ("photo", 64), ("cartoon", 128), ("photo", 128))
WARM_UP_SEED, TIMED_SEED = 1, 0


def pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)


def images_per_second(domain: str, size: int, images: int, warm_up: int) -> float:
    for index in range(warm_up):
        synthetic.make_record(domain, WARM_UP_SEED, index, size)
    start = time.process_time()
    for index in range(images):
        synthetic.make_record(domain, TIMED_SEED, index, size)
    return images / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int_at_least(1), default=1000, help="records timed per domain and size")
    parser.add_argument("--warm_up", type=int_at_least(0), default=200, help="records rendered before timing each case")
    args = parser.parse_args()
    pin_to_one_core()
    figures = {
        f"{domain}_{size}": round(images_per_second(domain, size, args.images, args.warm_up), 1)
        for domain, size in CASES
    }
    print(
        json.dumps({"benchmark": "synthetic_faces", "unit": "images/s on one core", "images": args.images, **figures})
    )


if __name__ == "__main__":
    main()
