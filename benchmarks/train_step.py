"""Train-step throughput of a model package, with and without XLA, against the machine's matmul peak.

    python -m benchmarks.train_step --model MODEL [--steps 20]   (MODEL: any registered model, e.g. xgan, single_gan)

Prints one JSON line: images/s of `model.fit` steps on a fixed batch at the
model's report setting (the `benchmark` of its registration in
`training.registry`), with jit_compile off and on; the FLOPs of one train step
(forward + backward, counted from the shapes of the traced graph's
matmul/convolution ops); the GFLOP/s that gives at the faster setting; and the
GFLOP/s of a large float32 matmul measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import time

import keras
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from benchmarks.arguments import int_at_least
from training import registry

MATMUL_SIZE = 2048


def batch_size(batch) -> int:
    """Images per step of a batch: an image array, or a tuple of one per domain."""
    return len(keras.tree.flatten(batch)[0])


def build(model_name: str, jit_compile: bool):
    """A fresh registered model, compiled with the optimizers of its report setting, and that setting's batch."""
    spec = registry.get(model_name)
    setting = spec.benchmark

    def adam():
        return keras.optimizers.Adam(setting.learning_rate, beta_1=setting.beta_1, beta_2=setting.beta_2)

    model = spec.untrained()
    model.compile(g_optimizer=adam(), d_optimizer=adam(), optimizer=None, jit_compile=jit_compile)
    return model, setting.batch()


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=registry.names(), required=True, help="registered model to time")
    parser.add_argument("--steps", type=int_at_least(1), default=20, help="timed train steps per setting")
    args = parser.parse_args(argv)

    peak = matmul_gflops()
    rates = {jit: images_per_second(args.model, jit, args.steps) for jit in (False, True)}
    flops = train_step_flops(args.model)
    images = batch_size(registry.get(args.model).benchmark.batch())
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
