"""The built-in faces as `make train-xgan` reads them: rendered endlessly vs served from a pool.

Builds XGAN's two default domains (64 px, batches of 16, photos painted on white, cartoons as
drawn, zipped unpaired) once from the endless specs and once from pools of `--pool` records, and
times in one run:
  * how long the pools take to render (the cache pointed at an empty temporary folder) and to load
    again from it;
  * batch pairs/s and the CPU time each costs (what the input pipeline takes from a training step
    on the same cores): endless, a pool's first pass (filling the pipeline's cache) and later passes.
Prints one JSON line.

    python -m benchmarks.synthetic_sources [--pool 8192] [--batches 200]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from preprocessing.pipeline import load_domain, unpaired
from preprocessing.synthetic import pool

IMAGE_SIZE, BATCH_SIZE = 64, 16


def xgan_domains(count: int | None):
    """(faces, cartoons) batches as xgan.train builds them by default; endless when `count` is None."""
    suffix = "" if count is None else f":{count}"
    faces = load_domain(f"synthetic:photo{suffix}", image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, background="white")
    cartoons = load_domain(f"synthetic:cartoon{suffix}", image_size=IMAGE_SIZE, batch_size=BATCH_SIZE, seed=1)
    return unpaired(faces, cartoons)


def timed(function):
    """(result, wall seconds, process CPU seconds) of `function()`."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def rates(batches, count: int) -> dict:
    """Batch pairs/s and CPU ms per batch pair over the next `count` pairs of `batches`."""
    _, wall, cpu = timed(lambda: [next(batches) for _ in range(count)])
    return {"batch_pairs_per_s": round(count / wall, 1), "cpu_ms_per_batch_pair": round(1000 * cpu / count, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=int, default=8192, help="records per domain in the pools (xgan.train's default)")
    parser.add_argument("--batches", type=int, default=200, help="batch pairs timed per figure")
    parser.add_argument("--warm_up", type=int, default=10, help="batch pairs read before timing the endless source")
    args = parser.parse_args()
    pool_batches = args.pool // BATCH_SIZE

    endless = iter(xgan_domains(None))
    for _ in range(args.warm_up):
        next(endless)
    figures = {"endless": rates(endless, args.batches)}
    del endless

    with tempfile.TemporaryDirectory() as cache:
        os.environ[pool.CACHE_DIR_VARIABLE] = cache
        _, render_seconds, _ = timed(lambda: xgan_domains(args.pool))
        pooled, load_seconds, _ = timed(lambda: xgan_domains(args.pool))
        batches = iter(pooled)
        figures["pool_first_pass"] = rates(batches, min(args.batches, pool_batches))
        for _ in range(pool_batches - min(args.batches, pool_batches)):  # finish the pass: the cache is full
            next(batches)
        figures["pool_cached"] = rates(batches, args.batches)

    print(
        json.dumps(
            {
                "benchmark": "synthetic_sources",
                "data": f"xgan.train defaults: {BATCH_SIZE}x{IMAGE_SIZE}x{IMAGE_SIZE}x3 photos on white + cartoons",
                "pool": args.pool,
                "pool_render_seconds": round(render_seconds, 1),
                "pool_load_seconds": round(load_seconds, 2),
                **{f"{name}_{key}": value for name, figure in figures.items() for key, value in figure.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
