"""Train-step throughput and memory of a model package: XLA, mixed precision, the training loop, the matmul peak.

    python -m benchmarks.train_step --model MODEL [--steps 10] [--mixed_precision mixed_bfloat16 [--no-float32]]
        [--no-loop] [--settings LABEL[,LABEL]] [--xla {both,off,on}] [--malloc_mmap_threshold_mb MB]
    (MODEL: any registered model, e.g. xgan, single_gan, cyclegan)

Prints one JSON line, every figure from this one run (each configuration is
timed twice, over --steps steps after 3 that compile, and the faster kept; a
timing runs from the first step's start to the last step's end, see `StepClock`):
- images/s, s/step and peak RSS of `model.fit` steps on a fixed batch at each
  setting of its registration in `training.registry` (the report's
  `benchmark`, and its `more_benchmarks`, whose figures carry their labels:
  CycleGAN at 256 px with ResNet-9 and at 128 px with ResNet-6), with
  jit_compile off and on; with --mixed_precision, each setting also under that
  dtype policy, beside its float32 figures (or alone, with --no-float32). Each configuration (setting x
  jit_compile x policy) runs in a fresh child process, so its peak RSS
  (`peak_rss_gb_*`, 1e9 bytes) is that process's alone: weights, optimizer
  state, activations and the TensorFlow runtime, with malloc's mmap threshold
  set as the model's train CLI sets it at that setting. A child that fails (out of
  memory, killed) leaves its figures null beside an `error_*` line, and the
  other configurations still run;
- the FLOPs of one train step (forward + backward, counted from the shapes of
  the traced graph's matmul/convolution ops, in a child process too), the
  GFLOP/s that gives at the faster float32 configuration, and the GFLOP/s of a
  large float32 matmul;
- the loop figure (for a model with a train CLI): `fit()` on the data its
  train CLI reads by default (`make train-xgan`'s, for XGAN), at the CLI's
  default settings, beside the same compiled step on one fixed batch of that
  data; `loop_vs_bare_step` near 1 means the input pipeline keeps up;
- the CPU it ran on, and whether it has AMX (bfloat16 matrix units).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import json
import multiprocessing
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable

import keras
import tensorflow as tf
from absl import flags
from tensorflow.python.profiler import model_analyzer, option_builder

from benchmarks.arguments import int_at_least
from training import fit, host_memory, registry
from training.optimizers import CoupledAdam, FusedAdam

MATMUL_SIZE = 2048
XLA_CHOICES = {"both": (False, True), "off": (False,), "on": (True,)}


def batch_size(batch) -> int:
    """Images per step of a batch: an image array, or a tuple of one per domain."""
    return len(keras.tree.flatten(batch)[0])


def build(untrained: Callable[..., keras.Model], setting: registry.Benchmark, jit_compile: bool):
    """A fresh model from a spec's `untrained`, compiled with the optimizers of a benchmark setting, and that
    setting's batch."""

    def adam():
        """The Adam the train CLIs use: fused; with the setting's weight decay, coupled."""
        settings = {"beta_1": setting.beta_1, "beta_2": setting.beta_2}
        if setting.weight_decay:
            return CoupledAdam(setting.learning_rate, weight_decay=setting.weight_decay, **settings)
        return FusedAdam(setting.learning_rate, **settings)

    model = untrained(**dict(setting.model_options))
    extra_optimizers = {name: adam() for name in getattr(model, "extra_optimizers", {})}
    model.compile(g_optimizer=adam(), d_optimizer=adam(), **extra_optimizers, optimizer=None, jit_compile=jit_compile)
    return model, setting.batch()


def images_per_second(
    untrained: Callable[..., keras.Model],
    setting: registry.Benchmark,
    jit_compile: bool,
    steps: int,
    policy: str = "float32",
) -> float:
    """Images/s of `fit` on a benchmark setting's fixed batch under the dtype `policy`."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model, batch = build(untrained, setting, jit_compile)
        return timed_fit(model, tf.data.Dataset.from_tensors(batch).repeat(), steps) * batch_size(batch)
    finally:
        keras.config.set_dtype_policy(previous)


class StepClock(keras.callbacks.Callback):
    """The wall time of a fit's steps: from the start of its first step to the end of its last.

    Not the whole `fit()` call. Leaving `fit()` deletes its tf.data iterator, and
    that waits for the end of the current sleep of the pipeline's autotuning
    thread, whose period doubles from 10 ms; a `fit()` timed whole ends at
    10 + 20 + ... ms after its iterator started: 5.11 s, 10.23 s, 20.47 s, ...
    whatever its steps took (10 steps of 0.6 s read as 10.23 s).
    """

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.end = time.perf_counter()  # the logs are NumPy by now: the step has finished

    @property
    def seconds(self) -> float:
        return self.end - self.start


def timed_fit(model: keras.Model, dataset, steps: int, repeats: int = 2, warmup_steps: int = 3) -> float:
    """The best steps/s of `repeats` timings of `model.fit`'s `steps` steps (`StepClock`), after `warmup_steps`
    that compile.

    The best rather than the mean: on a shared machine a passing load only ever slows a timing down.
    """
    model.fit(dataset, steps_per_epoch=warmup_steps, epochs=1, verbose=0, shuffle=False)
    best = 0.0
    for _ in range(repeats):
        gc.collect()  # ends the input threads of iterators earlier fits left behind, which would compete
        clock = StepClock()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        best = max(best, steps / clock.seconds)
    return best


@dataclasses.dataclass(frozen=True)
class ChildOutcome:
    """What a child process measured and its peak RSS in GB; or, when it gave nothing, why (value and peak None)."""

    value: float | None = None
    peak_rss_gb: float | None = None
    error: str | None = None


def spec_location(spec: registry.ModelSpec) -> str:
    """Where a spawned child, which shares no objects with this process, imports the same spec: "module:attribute"
    of a module-level name bound to it (`xgan.registration:MODEL`, a test's toy).

    Found as pickle finds a function's module, by looking through the imported modules: the registry keeps specs,
    not where they came from, and a test's spec is no entry point.
    """
    for module_name, module in list(sys.modules.items()):
        for attribute, value in list(getattr(module, "__dict__", {}).items()):
            if value is spec:
                return f"{module_name}:{attribute}"
    raise ValueError(f"model {spec.name}: its spec is bound to no module-level name, so no child process can import it")


def imported_spec(location: str) -> registry.ModelSpec:
    """The spec at a `spec_location`, imported: only its own model package, not every registered one."""
    module_name, attribute = location.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def peak_rss_gb() -> float:
    """This process's peak resident set size so far, in GB (1e9 bytes), to 3 significant digits."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return significant(kib * 1024 / 1e9)


def one_line(error: BaseException) -> str:
    """An exception as one line for the JSON: its type and the first line of its message."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def exit_description(code: int) -> str:
    """Why a child that sent nothing ended, from its exit code: minus the signal that ended it, SIGKILL being what
    Linux's out-of-memory killer sends."""
    if code == -signal.SIGKILL:
        return f"child exited with code {code} (killed: out of memory?)"
    if code < 0:
        return f"child exited with code {code} ({signal.strsignal(-code)})"
    return f"child exited with code {code}"


def measure_and_report(sender, measure: Callable, location: str, args: tuple, mmap_threshold_mb: float) -> None:
    """A child process's whole work: malloc's mmap threshold set as a train CLI sets it, then
    `measure(untrained, *args)` with the `untrained` of the spec at `location`; sends the parent its result and
    this process's peak RSS, or the error it raised (its traceback to stderr)."""
    host_memory.set_malloc_mmap_threshold(mmap_threshold_mb)
    try:
        value = measure(imported_spec(location).untrained, *args)
    except Exception as error:
        traceback.print_exc()
        sender.send(ChildOutcome(error=one_line(error)))
    else:
        sender.send(ChildOutcome(value, peak_rss_gb()))


def in_child_process(measure: Callable, location: str, *args, mmap_threshold_mb: float = 0.0) -> ChildOutcome:
    """`measure(untrained, *args)` in a fresh spawned process, whose peak RSS is that measurement's alone (a
    process's peak never goes down), and whose death (out of memory) leaves this process running;
    `mmap_threshold_mb` as `--malloc_mmap_threshold_mb` of the train CLIs."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=measure_and_report, args=(sender, measure, location, args, mmap_threshold_mb))
    child.start()
    sender.close()  # this process's copy: with it closed, recv() ends when the child dies without sending
    try:
        outcome = receiver.recv()
    except EOFError:
        outcome = None
    child.join()
    receiver.close()
    return outcome or ChildOutcome(error=exit_description(child.exitcode))


def recipe_mmap_threshold_mb(spec: registry.ModelSpec, setting: registry.Benchmark) -> float:
    """--malloc_mmap_threshold_mb as the model's train CLI resolves it, not given, at a benchmark setting: the
    setting's model options passed as the CLI's flags of the same names (those it has). 0 without a train CLI."""
    if not spec.train_module:
        return 0.0
    train_cli = importlib.import_module(spec.train_module)
    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    options = [f"--{name}={value}" for name, value in setting.model_options if name in flag_values]
    flag_values([spec.train_module, *options])
    return train_cli.resolve_config(flag_values)["malloc_mmap_threshold_mb"]


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


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to 2 decimals; None when either is missing (its child failed)."""
    return None if numerator is None or denominator is None else round(numerator / denominator, 2)


def cpu_description() -> dict:
    """The CPU's model name and whether it has AMX bfloat16 units (Linux; empty elsewhere)."""
    try:
        cpuinfo = open("/proc/cpuinfo").read()
    except OSError:
        return {}
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    return {"cpu": model, "cpu_has_amx_bf16": "amx_bf16" in cpuinfo.split()}


def train_step_flops(untrained: Callable[..., keras.Model], setting: registry.Benchmark) -> int:
    """Float ops of one train step, from the op shapes of its traced graph (forward and backward)."""
    model, batch = build(untrained, setting, jit_compile=False)
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


def labels(text: str) -> tuple[str, ...]:
    """An argparse `type`: comma-separated setting labels, at least one."""
    chosen = tuple(label for label in text.split(",") if label)
    if not chosen:
        raise argparse.ArgumentTypeError(f"must name at least one setting, got {text!r}")
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=registry.names(), required=True, help="registered model to time")
    parser.add_argument(
        "--steps", type=int_at_least(1), default=10, help="train steps per timing (each configuration is timed twice)"
    )
    parser.add_argument(
        "--mixed_precision",
        choices=("off", "mixed_bfloat16", "mixed_float16"),
        default="off",
        help="also time every setting under this Keras dtype policy, beside float32 (off: float32 only)",
    )
    parser.add_argument(
        "--float32",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time float32 too; --no-float32 times only the --mixed_precision policy (for a model whose float32 "
        "step takes minutes), without the figures that compare with float32",
    )
    parser.add_argument(
        "--settings",
        type=labels,
        metavar="LABEL[,LABEL]",
        help="time only the model's benchmark settings of these labels (its registration's Benchmark.label, e.g. "
        "128px_resnet6 for CycleGAN, report for a model with one setting); default: all of them",
    )
    parser.add_argument(
        "--xla",
        choices=tuple(XLA_CHOICES),
        default="both",
        help="time each setting with jit_compile off and on (both), or only off or on; the figures of the other "
        "are left out, and xla_speedup with them",
    )
    parser.add_argument(
        "--malloc_mmap_threshold_mb",
        type=float,
        default=None,
        help="malloc's mmap threshold in each timed child, as the train CLIs' flag of that name sets it (freed "
        "buffers of at least this many MB go back to the system; 0 leaves glibc's own, which rises to 32 MB); "
        "default: what the model's train CLI sets at each setting, 0 unless its recipe asks for it",
    )
    parser.add_argument(
        "--loop",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time fit() on the train CLI's default data beside the bare step (skipped for a model without a CLI)",
    )
    args = parser.parse_args(argv)
    if not args.float32 and args.mixed_precision == "off":
        parser.error("--no-float32 needs --mixed_precision: there would be nothing to time")
    spec = registry.get(args.model)
    settings = chosen_settings(parser, spec, args.settings)
    location = spec_location(spec)

    peak = matmul_gflops()
    policies = ("float32",) if args.mixed_precision == "off" else ("float32", args.mixed_precision)
    policies = policies if args.float32 else policies[1:]
    figures = {"benchmark": "train_step", "model": args.model, "matmul_gflops": round(peak, 1)}
    for setting in settings:
        prefix = f"{setting.label}_" if len(spec.benchmarks) > 1 else ""
        threshold = args.malloc_mmap_threshold_mb
        threshold = recipe_mmap_threshold_mb(spec, setting) if threshold is None else threshold
        figures[f"{prefix}malloc_mmap_threshold_mb"] = threshold
        values = setting_figures(location, setting, args.steps, policies, XLA_CHOICES[args.xla], peak, threshold)
        figures.update({f"{prefix}{name}": value for name, value in values.items()})
    if args.loop and spec.train_module:
        figures.update(loop_and_bare_step(args.model, args.steps))
    figures.update(cpu_description())
    print(json.dumps(figures))


def chosen_settings(
    parser: argparse.ArgumentParser, spec: registry.ModelSpec, chosen: tuple[str, ...] | None
) -> tuple[registry.Benchmark, ...]:
    """The model's benchmark settings --settings names (all without it), in registration order; a label the
    model does not have is an argparse error naming those it has."""
    known = [setting.label for setting in spec.benchmarks]
    unknown = [label for label in chosen or () if label not in known]
    if unknown:
        parser.error(
            f"--settings: model {spec.name} has no setting {', '.join(unknown)}; its settings: {', '.join(known)}"
        )
    return tuple(setting for setting in spec.benchmarks if chosen is None or setting.label in chosen)


def suffix(policy: str, jit_compile: bool) -> str:
    """The key suffix of a configuration's figures: `no_xla` or `xla`, after the policy unless it is float32."""
    xla = "xla" if jit_compile else "no_xla"
    return xla if policy == "float32" else f"{policy}_{xla}"


def setting_figures(
    location: str,
    setting: registry.Benchmark,
    steps: int,
    policies: tuple[str, ...],
    jit_compiles: tuple[bool, ...],
    peak: float,
    mmap_threshold_mb: float = 0.0,
) -> dict:
    """The figures of one benchmark setting, every configuration (policy x jit_compile) timed in a child process of
    its own (malloc's mmap threshold `mmap_threshold_mb`): rates, s/step and peak RSS; the XLA speed-up; FLOPs
    and achieved vs peak GFLOP/s; and each further policy's speed-up over float32."""
    images = batch_size(setting.batch())
    figures = {"batch_size": images}
    rates = {}
    for policy in policies:
        for jit_compile in jit_compiles:
            outcome = in_child_process(
                images_per_second, location, setting, jit_compile, steps, policy, mmap_threshold_mb=mmap_threshold_mb
            )
            rates[policy, jit_compile] = outcome.value
            figures |= configuration_figures(suffix(policy, jit_compile), outcome, images)
    if "float32" not in policies:
        return figures
    if len(jit_compiles) == 2:
        figures["xla_speedup"] = ratio(rates["float32", True], rates["float32", False])
    figures |= flops_figures(location, setting, [rates["float32", jit] for jit in jit_compiles], peak)
    for policy in policies[1:]:
        for jit_compile in jit_compiles:
            figures[f"{policy}_vs_float32_{suffix('float32', jit_compile)}"] = ratio(
                rates[policy, jit_compile], rates["float32", jit_compile]
            )
    return figures


def configuration_figures(key_suffix: str, outcome: ChildOutcome, images: int) -> dict:
    """Images/s, s/step and peak RSS of one configuration's child; null, with its error, when it gave none."""
    if outcome.error:
        names = ("images_per_s", "s_per_step", "peak_rss_gb")
        return {f"{name}_{key_suffix}": None for name in names} | {f"error_{key_suffix}": outcome.error}
    return {
        f"images_per_s_{key_suffix}": significant(outcome.value),
        f"s_per_step_{key_suffix}": round(images / outcome.value, 4),
        f"peak_rss_gb_{key_suffix}": outcome.peak_rss_gb,
    }


def flops_figures(location: str, setting: registry.Benchmark, float32_rates: list, peak: float) -> dict:
    """The FLOPs of one train step (counted in a child process, so this one never holds the model) and the
    GFLOP/s it gives at the faster float32 rate, absolute and over the matmul peak; null where a child failed."""
    outcome = in_child_process(train_step_flops, location, setting)
    rates = [rate for rate in float32_rates if rate is not None]
    if outcome.error:
        return {
            "train_step_gflop": None,
            "achieved_gflops": None,
            "achieved_vs_matmul": None,
            "error_train_step_gflop": outcome.error,
        }
    achieved = outcome.value * max(rates) / batch_size(setting.batch()) / 1e9 if rates else None
    return {
        "train_step_gflop": float(f"{outcome.value / 1e9:.4g}"),
        "achieved_gflops": None if achieved is None else round(achieved, 1),
        "achieved_vs_matmul": ratio(achieved, peak),
    }


if __name__ == "__main__":
    main()
