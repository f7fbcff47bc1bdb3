"""`training.image_pool.ImagePool`: milliseconds a call, without and with XLA, at CycleGAN's image sizes.

    python -m benchmarks.image_pool [--sizes 64,128,256] [--pool 50] [--batch 1] [--calls 20]

Prints one JSON line: for each size, the best of two timings of --calls calls
on a full pool, under `tf.function` with jit_compile off and on, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import time

import tensorflow as tf

from benchmarks.arguments import int_at_least
from training.image_pool import ImagePool


def milliseconds_per_call(size: int, pool_size: int, batch: int, calls: int, jit_compile: bool) -> float:
    pool = ImagePool(pool_size, (size, size, 3))
    call = tf.function(pool.__call__, jit_compile=jit_compile)
    images = tf.random.uniform((batch, size, size, 3), -1, 1)
    for _ in range(pool_size // batch + 2):  # fill the pool, and compile
        call(images)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        for _ in range(calls):
            outputs = call(images)
        outputs.numpy()
        best = min(best, (time.perf_counter() - start) / calls)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,128,256", help="comma-separated image sizes")
    parser.add_argument("--pool", type=int_at_least(1), default=50, help="images in the pool (CycleGAN's 50)")
    parser.add_argument("--batch", type=int_at_least(1), default=1, help="images per call (CycleGAN's 1)")
    parser.add_argument("--calls", type=int_at_least(1), default=20, help="calls per timing")
    args = parser.parse_args()
    figures = {"benchmark": "image_pool", "pool": args.pool, "batch": args.batch}
    for size in (int(text) for text in args.sizes.split(",")):
        plain, xla = (milliseconds_per_call(size, args.pool, args.batch, args.calls, jit) for jit in (False, True))
        figures |= {f"{size}px_ms_no_xla": round(plain, 2), f"{size}px_ms_xla": round(xla, 2)}
        figures[f"{size}px_xla_vs_no_xla"] = round(xla / plain, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
