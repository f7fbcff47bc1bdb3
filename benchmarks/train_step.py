"""Train-step throughput of a model package, with and without XLA, against the machine's matmul peak.

    python -m benchmarks.train_step --model xgan|single_gan [--steps 20]

Prints one JSON line: images/s of `model.fit` steps on a fixed batch at the
model's report setting, with jit_compile off and on; the FLOPs of one train
step (forward + backward, counted from the shapes of the traced graph's
matmul/convolution ops); the GFLOP/s that gives at the faster setting; and the
GFLOP/s of a large float32 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from benchmarks.arguments import int_at_least

MATMUL_SIZE = 2048


def xgan_setting():
    """The report's XGAN setting: 64x64, batch 16, Adam 2e-4 (0.5, 0.999)."""
    from xgan.model import XGAN

    rng = np.random.default_rng(0)
    batch = tuple(rng.uniform(-1, 1, (16, 64, 64, 3)).astype("float32") for _ in range(2))
    return XGAN, batch


def single_gan_setting():
    """The report's DCGAN setting: 64x64, noise 100, batch 128, Adam 2e-4 (0.5, 0.999)."""
    from single_gan.model import DCGAN

    batch = np.random.default_rng(0).uniform(-1, 1, (128, 64, 64, 3)).astype("float32")
    return DCGAN, batch


MODELS = {"single_gan": single_gan_setting, "xgan": xgan_setting}


def batch_size(batch) -> int:
    """Images per step of a batch: an image array, or a tuple of one per domain."""
    return len(keras.tree.flatten(batch)[0])


def build(model_name: str, jit_compile: bool):
    model_class, batch = MODELS[model_name]()
    model = model_class()
    model.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999),
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999),
        optimizer=None,
        jit_compile=jit_compile,
    )
    return model, batch


def images_per_second(model_name: str, jit_compile: bool, steps: int) -> float:
    model, batch = build(model_name, jit_compile)
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)  # trace / compile
    start = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size(batch) / (time.perf_counter() - start)


def train_step_flops(model_name: str) -> int:
    """Float ops of one train step, from the op shapes of its traced graph (forward and backward)."""
    model, batch = build(model_name, jit_compile=False)
    specs = tf.nest.map_structure(lambda part: tf.TensorSpec(part.shape, part.dtype), batch)
    graph = tf.function(model.train_step).get_concrete_function(specs).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return model_analyzer.profile(graph, options=options).total_float_ops


def matmul_gflops(repeats: int = 5, trials: int = 5) -> float:
    """The best of several timings of a large float32 matmul: the machine's practical peak."""
    a = tf.random.normal([MATMUL_SIZE, MATMUL_SIZE])
    b = tf.random.normal([MATMUL_SIZE, MATMUL_SIZE])
    tf.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(repeats):
            c = tf.matmul(a, b)
        c.numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * MATMUL_SIZE**3 * repeats / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(MODELS), required=True, help="model package to time")
    parser.add_argument("--steps", type=int_at_least(1), default=20, help="timed train steps per setting")
    args = parser.parse_args()

    peak = matmul_gflops()
    rates = {jit: images_per_second(args.model, jit, args.steps) for jit in (False, True)}
    flops = train_step_flops(args.model)
    images = batch_size(MODELS[args.model]()[1])
    best = max(rates.values())
    achieved = flops * best / images / 1e9
    print(
        json.dumps(
            {
                "benchmark": "train_step",
                "model": args.model,
                "batch_size": images,
                "images_per_s_no_xla": round(rates[False], 1),
                "images_per_s_xla": round(rates[True], 1),
                "xla_speedup": round(rates[True] / rates[False], 2),
                "train_step_gflop": round(flops / 1e9, 3),
                "achieved_gflops": round(achieved, 1),
                "matmul_gflops": round(peak, 1),
                "achieved_vs_matmul": round(achieved / peak, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
