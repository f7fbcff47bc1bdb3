"""Train-step throughput of a model package: XLA, mixed precision, the training loop, the matmul peak.

    python -m benchmarks.train_step --model MODEL [--steps 10] [--mixed_precision mixed_bfloat16] [--no-loop]
    (MODEL: any registered model, e.g. xgan, single_gan, cyclegan)

Prints one JSON line, every figure from this one run (each setting is timed
twice, over --steps steps after 3 that compile, and the faster kept):
- images/s and s/step of `model.fit` steps on a fixed batch at each setting
  of its registration in `training.registry` (the report's `benchmark`, and
  its `more_benchmarks`, whose figures carry their labels: CycleGAN at 256 px
  with ResNet-9 and at 128 px with ResNet-6), with jit_compile off and on;
  with --mixed_precision, each setting also under that dtype policy, beside
  its float32 figures;
- the FLOPs of one train step (forward + backward, counted from the shapes of
  the traced graph's matmul/convolution ops), the GFLOP/s that gives at the
  faster setting, and the GFLOP/s of a large float32 matmul;
- the loop figure (for a model with a train CLI): `fit()` on the data its
  train CLI reads by default (`make train-xgan`'s, for XGAN), at the CLI's
  default settings, beside the same compiled step on one fixed batch of that
  data; `loop_vs_bare_step` near 1 means the input pipeline keeps up;
- the CPU it ran on, and whether it has AMX (bfloat16 matrix units).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import time

import keras
import tensorflow as tf
from absl import flags
from tensorflow.python.profiler import model_analyzer, option_builder

from benchmarks.arguments import int_at_least
from training import fit, registry

MATMUL_SIZE = 2048


def batch_size(batch) -> int:
    """Images per step of a batch: an image array, or a tuple of one per domain."""
    return len(keras.tree.flatten(batch)[0])


def build(model_name: str, jit_compile: bool, setting: registry.Benchmark | None = None):
    """A fresh registered model, compiled with the optimizers of a benchmark setting (default: the report's),
    and that setting's batch."""
    spec = registry.get(model_name)
    setting = setting or spec.benchmark

    def adam():
        return keras.optimizers.Adam(setting.learning_rate, beta_1=setting.beta_1, beta_2=setting.beta_2)

    model = spec.untrained(**dict(setting.model_options))
    model.compile(g_optimizer=adam(), d_optimizer=adam(), optimizer=None, jit_compile=jit_compile)
    return model, setting.batch()


def images_per_second(
    model_name: str, jit_compile: bool, steps: int, policy: str = "float32", setting: registry.Benchmark | None = None
) -> float:
    """Images/s of `fit` on a benchmark setting's fixed batch (default: the report's) under the dtype `policy`."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model, batch = build(model_name, jit_compile, setting)
        return timed_fit(model, tf.data.Dataset.from_tensors(batch).repeat(), steps) * batch_size(batch)
    finally:
        keras.config.set_dtype_policy(previous)


def timed_fit(model: keras.Model, dataset, steps: int, repeats: int = 2, warmup_steps: int = 3) -> float:
    """The best steps/s of `repeats` timings of `model.fit` over `steps` steps, after `warmup_steps` that compile.

    The best rather than the mean: on a shared machine a passing load only ever slows a timing down.
    """
    model.fit(dataset, steps_per_epoch=warmup_steps, epochs=1, verbose=0, shuffle=False)
    best = 0.0
    for _ in range(repeats):
        gc.collect()  # ends the input threads of iterators earlier fits left behind, which would compete
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
        best = max(best, steps / (time.perf_counter() - start))
    return best


def default_training_setup(model_name: str) -> tuple[dict, tf.data.Dataset]:
    """(config, dataset) of the model's train CLI run with no flags: what `make train-<model>` trains on."""
    spec = registry.get(model_name)
    train_cli = importlib.import_module(spec.train_module)
    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    flag_values([spec.train_module])
    config = train_cli.resolve_config(flag_values)
    return config, train_cli.build_dataset(config)


def loop_and_bare_step(model_name: str, steps: int, repeats: int = 2) -> dict:
    """Images/s of `fit` on the train CLI's default data beside the same step on one fixed batch of it.

    Two models compiled as the CLI compiles them; each is timed `repeats`
    times, alternating, and the best of each is kept, so a passing load on
    the machine does not decide the ratio.
    """
    spec = registry.get(model_name)
    config, dataset = default_training_setup(model_name)
    fixed = tf.data.Dataset.from_tensors(next(iter(dataset))).repeat()
    images = config["batch_size"]  # per domain, as the report-setting figures count them
    models = {name: fit.compile_for_training(spec.build(config), config) for name in ("loop", "bare_step")}
    data = {"loop": dataset, "bare_step": fixed}
    best = {name: 0.0 for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            best[name] = max(best[name], timed_fit(model, data[name], steps, repeats=1) * images)
    return {
        "loop_setting": f"{spec.train_module} defaults: batch {config['batch_size']}, "
        f"jit_compile {config['jit_compile']}, policy {config['mixed_precision']}",
        "loop_images_per_s": round(best["loop"], 1),
        "bare_step_images_per_s": round(best["bare_step"], 1),
        "loop_vs_bare_step": round(best["loop"] / best["bare_step"], 3),
    }


def significant(rate: float) -> float:
    """A rate to 3 significant digits: 0.0733 images/s at 256 px keeps its figures, as 41.3 does."""
    return float(f"{rate:.3g}")


def cpu_description() -> dict:
    """The CPU's model name and whether it has AMX bfloat16 units (Linux; empty elsewhere)."""
    try:
        cpuinfo = open("/proc/cpuinfo").read()
    except OSError:
        return {}
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {"cpu": model, "cpu_has_amx_bf16": "amx_bf16" in cpuinfo.split()}


def train_step_flops(model_name: str, setting: registry.Benchmark | None = None) -> int:
    """Float ops of one train step, from the op shapes of its traced graph (forward and backward)."""
    model, batch = build(model_name, jit_compile=False, setting=setting)
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
    parser.add_argument(
        "--steps", type=int_at_least(1), default=10, help="train steps per timing (each setting is timed twice)"
    )
    parser.add_argument(
        "--mixed_precision",
        choices=("off", "mixed_bfloat16", "mixed_float16"),
        default="off",
        help="also time every setting under this Keras dtype policy, beside float32 (off: float32 only)",
    )
    parser.add_argument(
        "--loop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time fit() on the train CLI's default data beside the bare step (skipped for a model without a CLI)",
    )
    args = parser.parse_args(argv)

    peak = matmul_gflops()
    settings = registry.get(args.model).benchmarks
    figures = {"benchmark": "train_step", "model": args.model, "matmul_gflops": round(peak, 1)}
    for setting in settings:
        prefix = f"{setting.label}_" if len(settings) > 1 else ""
        rates, setting_figures = setting_rates(args.model, setting, args.steps, peak)
        if args.mixed_precision != "off":
            setting_figures |= mixed_precision_figures(args.model, args.mixed_precision, args.steps, rates, setting)
        figures.update({f"{prefix}{name}": value for name, value in setting_figures.items()})
    if args.loop and registry.get(args.model).train_module:
        figures.update(loop_and_bare_step(args.model, args.steps))
    figures.update(cpu_description())
    print(json.dumps(figures))


def setting_rates(model_name: str, setting: registry.Benchmark, steps: int, peak: float) -> tuple[dict, dict]:
    """({jit_compile: images/s}, the figures of one benchmark setting: rates, s/step, achieved vs peak GFLOP/s)."""
    rates = {jit: images_per_second(model_name, jit, steps, setting=setting) for jit in (False, True)}
    flops = train_step_flops(model_name, setting)
    images = batch_size(setting.batch())
    achieved = flops * max(rates.values()) / images / 1e9
    return rates, {
        "batch_size": images,
        "images_per_s_no_xla": significant(rates[False]),
        "images_per_s_xla": significant(rates[True]),
        "s_per_step_no_xla": round(images / rates[False], 4),
        "s_per_step_xla": round(images / rates[True], 4),
        "xla_speedup": round(rates[True] / rates[False], 2),
        "train_step_gflop": float(f"{flops / 1e9:.4g}"),
        "achieved_gflops": round(achieved, 1),
        "achieved_vs_matmul": round(achieved / peak, 2),
    }


def mixed_precision_figures(
    model_name: str, policy: str, steps: int, float32_rates: dict, setting: registry.Benchmark
) -> dict:
    """Images/s and s/step of a setting under `policy`, without and with XLA, and the speed-up over its float32
    figures of the same run."""
    figures = {}
    images = batch_size(setting.batch())
    for jit, suffix in ((False, "no_xla"), (True, "xla")):
        rate = images_per_second(model_name, jit, steps, policy, setting)
        figures[f"images_per_s_{policy}_{suffix}"] = significant(rate)
        figures[f"s_per_step_{policy}_{suffix}"] = round(images / rate, 4)
        figures[f"{policy}_vs_float32_{suffix}"] = round(rate / float32_rates[jit], 2)
    return figures


if __name__ == "__main__":
    main()
