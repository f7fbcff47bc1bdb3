"""The train-step benchmark: its figures on the toy GAN, and the real models end to end (slow: XLA compiles)."""

import dataclasses
import json
import os
import signal
import time

import keras
import pytest
import tensorflow as tf

from benchmarks import train_step
from tests.benchmarks import run_benchmark
from tests.training import toy_gan
from tests.training.conftest import toy_config
from training import registry
from training.optimizers import CoupledAdam, FusedAdam


def run_train_step(model: str, steps: int) -> dict:
    """The one JSON line of `python -m benchmarks.train_step --model MODEL --steps STEPS`."""
    return run_benchmark("benchmarks.train_step", "--model", model, "--steps", str(steps), timeout=900)


@pytest.mark.slow
def test_train_step_benchmark_reports_throughput_and_flops():
    figures = run_train_step("xgan", steps=2)
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0
    # 16 images of the XGAN step: ~4.1 GFLOP each (forward + backward of the layer tables).
    assert 40 < figures["train_step_gflop"] < 100
    best = max(figures["images_per_s_no_xla"], figures["images_per_s_xla"])
    expected = figures["train_step_gflop"] * best / figures["batch_size"]
    assert figures["achieved_gflops"] == pytest.approx(expected, rel=0.05)


@pytest.mark.slow
def test_train_step_benchmark_times_the_dcgan_at_the_report_batch():
    figures = run_train_step("single_gan", steps=1)
    assert figures["model"] == "single_gan" and figures["batch_size"] == 128
    assert figures["images_per_s_no_xla"] > 0 and figures["images_per_s_xla"] > 0
    # 128 images of the DCGAN step: ~3 GFLOP each (G and D forward and backward, D on real and fake images).
    assert 250 < figures["train_step_gflop"] < 600


def slowed(dataset: tf.data.Dataset, seconds: float) -> tf.data.Dataset:
    """`dataset` with a pause of `seconds` before each batch: an input pipeline that cannot keep up."""

    def pause(sources, targets):
        paused = tf.py_function(lambda: time.sleep(seconds) or 0.0, [], tf.float32)
        with tf.control_dependencies([paused]):
            return tf.identity(sources), targets

    return dataset.map(pause)


def test_the_loop_figure_shows_an_input_pipeline_that_cannot_keep_up(registered_toy, monkeypatch, tmp_path):
    config = toy_config(tmp_path / "run", jit_compile=False)
    fast = toy_gan.toy_dataset(2, image_size=toy_gan.REGISTERED_SIZE)
    data = {"fast": fast, "slow": slowed(fast, 0.05)}
    figures = {}
    for name, dataset in data.items():
        monkeypatch.setattr(train_step, "default_training_setup", lambda model_name, dataset=dataset: (config, dataset))
        # Best of 3 of 60 steps (~0.2 s each for the fast data): a single short timing can land on a moment when
        # another process (a second test worker) has the CPU, and then decides the ratio.
        figures[name] = train_step.loop_and_bare_step("toy_gan", steps=60, repeats=3)

    assert figures["slow"]["loop_vs_bare_step"] < 0.5 < figures["fast"]["loop_vs_bare_step"]
    for values in figures.values():
        assert values["loop_vs_bare_step"] == pytest.approx(
            values["loop_images_per_s"] / values["bare_step_images_per_s"], abs=0.01
        )


class SlowToLeaveFit(toy_gan.ToyGAN):
    """The toy, whose `fit()` returns a second after its last step: as a real one that waits, on leaving, for the
    current sleep of tf.data's autotuning thread (up to 10 s after a long fit)."""

    def fit(self, *args, **kwargs):
        history = super().fit(*args, **kwargs)
        time.sleep(1.0)
        return history


def test_a_timing_counts_the_steps_not_the_time_fit_takes_to_end():
    model, batch = train_step.build(
        lambda: SlowToLeaveFit(toy_gan.REGISTERED_SIZE), toy_gan.MODEL.benchmark, jit_compile=False
    )
    steps_per_s = train_step.timed_fit(model, tf.data.Dataset.from_tensors(batch).repeat(), steps=5, repeats=1)

    # Timing the whole fit() would give at most 5 steps/s; the toy's steps take a few ms each.
    assert steps_per_s > 20


def test_a_mixed_precision_timing_runs_under_its_policy_and_restores_float32():
    seen = []
    build = train_step.build

    def recording_build(untrained, setting, jit_compile):
        seen.append(keras.config.dtype_policy().name)
        return build(untrained, setting, jit_compile)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_step, "build", recording_build)
        rate = train_step.images_per_second(
            toy_gan.MODEL.untrained, toy_gan.MODEL.benchmark, jit_compile=False, steps=2, policy="mixed_bfloat16"
        )

    assert rate > 0 and seen == ["mixed_bfloat16"]
    assert keras.config.dtype_policy().name == "float32"


def test_the_train_clis_default_setup_is_a_run_with_no_flags():
    config, dataset = train_step.default_training_setup("single_gan")

    assert (config["model"], config["recipe"], config["batch_size"], config["learning_rate"]) == (
        "single_gan",
        "exp3",
        128,
        2e-4,
    )
    assert dataset.element_spec.shape.as_list()[1:] == [64, 64, 3]


def toy_or_failing(image_size: int = toy_gan.REGISTERED_SIZE, failure: str | None = None) -> keras.Model:
    """The toy GAN at `image_size`; or, with `failure`, a child process that dies building it as an out-of-memory
    one would: "killed" (SIGKILL, the OOM killer's signal) or "raises" (MemoryError)."""
    if failure == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if failure == "raises":
        raise MemoryError("no room for the weights\n(a second line the report leaves out)")
    return toy_gan.ToyGAN(image_size)


def toy_setting(label: str, image_size: int = toy_gan.REGISTERED_SIZE, batch: int = 1, failure: str | None = None):
    """A benchmark setting of the toy: batches of `batch` images per domain at `image_size`, with `toy_or_failing`'s
    `failure`."""
    options = (("image_size", image_size),) + ((("failure", failure),) if failure else ())
    shapes = ((batch, image_size, image_size, 3),) * 2
    return registry.Benchmark(input_shapes=shapes, label=label, model_options=options, learning_rate=1e-3)


# Specs bound to module-level names, as model packages bind theirs: a benchmark's child process imports them here.
SEVERAL_SETTINGS = dataclasses.replace(
    toy_gan.MODEL,
    untrained=toy_or_failing,
    benchmark=toy_setting("16px", batch=2),
    more_benchmarks=(toy_setting("8px", image_size=8),),
)
FAILING_SETTINGS = dataclasses.replace(
    SEVERAL_SETTINGS,
    more_benchmarks=(
        toy_setting("8px", image_size=8),
        toy_setting("killed", failure="killed"),
        toy_setting("raises", failure="raises"),
    ),
)


def run_toy(monkeypatch, capsys, spec: registry.ModelSpec, *arguments: str) -> dict:
    """The JSON line of `benchmarks.train_step` on `spec` registered as the toy (with a small matmul)."""
    monkeypatch.setitem(registry._SPECS, "toy_gan", spec)
    monkeypatch.setattr(train_step, "MATMUL_SIZE", 256)  # the machine's peak is not what these tests check
    train_step.main(["--model", "toy_gan", "--steps", "2", "--no-loop", *arguments])
    return json.loads(capsys.readouterr().out)


def test_a_model_with_several_settings_reports_each_under_its_label(registered_toy, capsys, monkeypatch):
    figures = run_toy(monkeypatch, capsys, SEVERAL_SETTINGS, "--mixed_precision", "mixed_bfloat16", "--xla", "off")

    assert (figures["16px_batch_size"], figures["8px_batch_size"]) == (2, 1)
    for label in ("16px", "8px"):
        for key_suffix in ("no_xla", "mixed_bfloat16_no_xla"):
            assert figures[f"{label}_s_per_step_{key_suffix}"] == pytest.approx(
                figures[f"{label}_batch_size"] / figures[f"{label}_images_per_s_{key_suffix}"], rel=0.05, abs=1e-4
            )
            # Each configuration's own process: TensorFlow's runtime alone is several hundred MB.
            assert 0.1 < figures[f"{label}_peak_rss_gb_{key_suffix}"] < 10
        assert figures[f"{label}_mixed_bfloat16_vs_float32_no_xla"] > 0
    # --xla off: no XLA figures, nor a speed-up over them; and nothing failed.
    xla_figures = [name for name in figures if name.endswith("_xla") and not name.endswith("no_xla")]
    assert not xla_figures and not [name for name in figures if "speedup" in name or "error" in name]
    # The 8 px step does a quarter of the 16 px step's work per image.
    per_image = {
        label: figures[f"{label}_train_step_gflop"] / figures[f"{label}_batch_size"] for label in ("16px", "8px")
    }
    assert per_image["8px"] == pytest.approx(per_image["16px"] / 4, rel=0.2)


def test_no_float32_times_only_the_mixed_precision_policy(registered_toy, capsys, monkeypatch):
    figures = run_toy(
        monkeypatch,
        capsys,
        SEVERAL_SETTINGS,
        "--settings",
        "8px",
        "--mixed_precision",
        "mixed_bfloat16",
        "--xla",
        "off",
        "--no-float32",
    )

    assert figures["8px_s_per_step_mixed_bfloat16_no_xla"] > 0 and figures["8px_peak_rss_gb_mixed_bfloat16_no_xla"] > 0
    assert not [name for name in figures if name.endswith("_no_xla") and "mixed_bfloat16" not in name]
    assert not [name for name in figures if "vs_float32" in name or "train_step_gflop" in name or "achieved" in name]


def test_no_float32_without_a_mixed_precision_policy_is_refused(registered_toy, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        run_toy(monkeypatch, capsys, SEVERAL_SETTINGS, "--no-float32")

    assert exit_info.value.code == 2
    assert "--no-float32 needs --mixed_precision" in capsys.readouterr().err


def test_a_failing_child_leaves_nulls_and_its_error_and_the_other_settings_run(registered_toy, capsys, monkeypatch):
    figures = run_toy(monkeypatch, capsys, FAILING_SETTINGS, "--settings", "killed,16px,raises", "--xla", "on")

    assert figures["16px_images_per_s_xla"] > 0 and figures["16px_peak_rss_gb_xla"] > 0
    # The toy's 0.6 MFLOP step may round to 0.0 achieved GFLOP/s: a number, not the null of a failed child.
    assert figures["16px_train_step_gflop"] > 0 and figures["16px_achieved_gflops"] is not None
    assert "16px_error_xla" not in figures
    assert not [name for name in figures if name.startswith("8px_") or "no_xla" in name]
    errors = {
        "killed": "child exited with code -9 (killed: out of memory?)",
        "raises": "MemoryError: no room for the weights",
    }
    for label, error in errors.items():
        assert figures[f"{label}_error_xla"] == figures[f"{label}_error_train_step_gflop"] == error
        for name in ("images_per_s_xla", "s_per_step_xla", "peak_rss_gb_xla", "train_step_gflop", "achieved_gflops"):
            assert figures[f"{label}_{name}"] is None


def test_settings_the_model_does_not_have_are_refused_with_those_it_has(registered_toy, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_info:
        run_toy(monkeypatch, capsys, FAILING_SETTINGS, "--settings", "16px,full")

    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "full" in error and "16px, 8px, killed, raises" in error


def test_a_child_ends_in_a_one_line_reason():
    assert train_step.exit_description(-signal.SIGKILL) == "child exited with code -9 (killed: out of memory?)"
    assert train_step.exit_description(-signal.SIGSEGV) == "child exited with code -11 (Segmentation fault)"
    assert train_step.exit_description(1) == "child exited with code 1"
    assert train_step.one_line(MemoryError("first\nsecond")) == "MemoryError: first"
    assert train_step.one_line(MemoryError()) == "MemoryError"


def test_rates_keep_three_significant_digits_however_slow_the_step():
    assert [train_step.significant(rate) for rate in (0.073261, 41.3449, 1234.5)] == [0.0733, 41.3, 1230.0]


@pytest.mark.parametrize("weight_decay, optimizer_class", [(0.0, FusedAdam), (1e-4, CoupledAdam)])
def test_the_benchmark_steps_the_optimizer_the_train_clis_use(weight_decay, optimizer_class):
    setting = dataclasses.replace(toy_gan.MODEL.benchmark, weight_decay=weight_decay, beta_1=0.3)
    model, _ = train_step.build(toy_gan.MODEL.untrained, setting, jit_compile=False)
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert type(optimizer) is optimizer_class and optimizer.beta_1 == 0.3
        assert (optimizer.weight_decay or 0.0) == weight_decay


def test_each_setting_gets_the_mmap_threshold_its_train_cli_sets_by_default():
    ugatit = registry.get("ugatit")
    thresholds = {setting.label: train_step.recipe_mmap_threshold_mb(ugatit, setting) for setting in ugatit.benchmarks}
    assert thresholds == {"light": 0.0, "full": 1.0}
    assert train_step.recipe_mmap_threshold_mb(registry.get("xgan"), registry.get("xgan").benchmark) == 0.0
