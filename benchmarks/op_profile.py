"""Where a train step's time goes: TensorFlow's own profile of a model's step, summed by op type.

    python -m benchmarks.op_profile --model MODEL [--settings LABEL] [--steps 5] [--top 20]
        [--mixed_precision mixed_bfloat16] [--xla]

Builds the model at one setting of its registration (`training.registry`; the
first by default) exactly as `benchmarks.train_step` times it, runs 3 steps
that compile, then traces --steps steps of `fit` on the setting's fixed batch
with `tf.profiler`, and prints a table of the op types (Conv2D,
Conv2DBackpropFilter, Mean, ...) by the time they took on the host, with
their share of all op time and their count per step, then one JSON line of
the same figures. TensorFlow's table lists the trace's 500 costliest ops (a
CycleGAN step at 128 px leaves out ops of under 2 ms each), so the sums are of
those. An op type far above its FLOPs' share (a normalisation's
reductions, a pad, the optimizer's per-variable updates) is where a step
loses time that the convolutions do not explain. The trace itself is kept
under --logdir for TensorBoard's profile tab.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.profiler.internal import _pywrap_profiler_plugin

from benchmarks.arguments import int_at_least
from benchmarks.train_step import batch_size, build, chosen_settings, labels
from training import registry

# TensorFlow's per-op table (the profile tab's "framework op stats"): one row per op, as a gviz DataTable.
STATS_TOOL = "framework_op_stats"
HOST_OPS = "Host"
IDLE = "IDLE"  # the profiler's row for time no op ran
WARMUP_STEPS = 3


def traced_steps(model: keras.Model, batch, steps: int, logdir: Path) -> Path:
    """Trace `steps` fit steps after WARMUP_STEPS that compile; the xplane file the trace wrote."""
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model.fit(dataset, steps_per_epoch=WARMUP_STEPS, epochs=1, verbose=0)
    tf.profiler.experimental.start(str(logdir))
    try:
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    finally:
        tf.profiler.experimental.stop()
    planes = sorted(logdir.rglob("*.xplane.pb"), key=lambda path: path.stat().st_mtime)
    if not planes:
        raise RuntimeError(f"the profiler wrote no trace under {logdir}")
    return planes[-1]


def op_rows(xplane: Path) -> list[dict]:
    """The trace's ops, one dict per op (type, name, occurrences, total self time in µs): those that ran on the
    host, without the idle time."""
    data, ok = _pywrap_profiler_plugin.xspace_to_tools_data([str(xplane)], STATS_TOOL, {})
    if not ok:
        raise RuntimeError(f"the profiler could not read {xplane}")
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [column["id"] for column in table["cols"]]
    rows = [dict(zip(columns, (cell["v"] if cell else None for cell in row["c"]))) for row in table["rows"]]
    return [row for row in rows if row.get("host_or_device") == HOST_OPS and row.get("type") != IDLE]


def by_op_type(rows: list[dict], steps: int) -> list[dict]:
    """Self time and count per step of each op type, largest first, with its share of all op time."""
    seconds, counts = defaultdict(float), defaultdict(int)
    for row in rows:
        seconds[row["type"]] += row["total_self_time"] / 1e6
        counts[row["type"]] += int(row["occurrences"])
    total = sum(seconds.values()) or 1.0
    ranked = sorted(seconds, key=seconds.get, reverse=True)
    return [
        {
            "op_type": name,
            "s_per_step": round(seconds[name] / steps, 4),
            "share": round(seconds[name] / total, 4),
            "ops_per_step": counts[name] // steps,
        }
        for name in ranked
    ]


def format_table(types: list[dict], top: int) -> str:
    lines = [f"{'op type':<32} {'s/step':>8} {'share':>7} {'ops/step':>9}"]
    for entry in types[:top]:
        lines.append(
            f"{entry['op_type']:<32} {entry['s_per_step']:>8.3f} {entry['share']:>7.1%} {entry['ops_per_step']:>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=registry.names(), required=True, help="registered model to profile")
    parser.add_argument(
        "--settings",
        type=labels,
        metavar="LABEL",
        help="the benchmark setting to profile (its registration's Benchmark.label, e.g. 128px_resnet6); "
        "default: the model's first",
    )
    parser.add_argument("--steps", type=int_at_least(1), default=5, help="train steps traced, after 3 that compile")
    parser.add_argument("--top", type=int_at_least(1), default=20, help="op types printed in the table")
    parser.add_argument(
        "--mixed_precision",
        choices=("off", "mixed_bfloat16", "mixed_float16"),
        default="off",
        help="the Keras dtype policy of the profiled model (off: float32)",
    )
    parser.add_argument("--xla", action="store_true", help="profile the step compiled with XLA (jit_compile)")
    parser.add_argument("--logdir", type=Path, help="where the trace goes (default: a temporary directory)")
    args = parser.parse_args(argv)
    spec = registry.get(args.model)
    setting = chosen_settings(parser, spec, args.settings)[0]
    keras.config.set_dtype_policy("float32" if args.mixed_precision == "off" else args.mixed_precision)
    model, batch = build(spec.untrained, setting, args.xla)
    logdir = args.logdir or Path(tempfile.mkdtemp(prefix="op_profile_"))
    types = by_op_type(op_rows(traced_steps(model, batch, args.steps, logdir)), args.steps)
    print(format_table(types, args.top))
    print(f"trace: {logdir} (tensorboard --logdir {logdir}, profile tab)")
    figures = {
        "benchmark": "op_profile",
        "model": args.model,
        "setting": setting.label,
        "policy": args.mixed_precision,
        "xla": args.xla,
        "batch_size": batch_size(batch),
        "op_s_per_step": round(sum(entry["s_per_step"] for entry in types), 4),
        "op_types": types[: args.top],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
