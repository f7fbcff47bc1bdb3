"""The train-step benchmark: its figures on the toy GAN, and the real models end to end (slow: XLA compiles)."""

import dataclasses
import json
import time

import keras
import pytest
import tensorflow as tf

from benchmarks import train_step
from tests.benchmarks import run_benchmark
from tests.training import toy_gan
from tests.training.conftest import toy_config
from training import registry


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
        figures[name] = train_step.loop_and_bare_step("toy_gan", steps=40, repeats=1)

    assert figures["slow"]["loop_vs_bare_step"] < 0.5 < figures["fast"]["loop_vs_bare_step"]
    for values in figures.values():
        assert values["loop_vs_bare_step"] == pytest.approx(
            values["loop_images_per_s"] / values["bare_step_images_per_s"], abs=0.01
        )


def test_a_mixed_precision_timing_runs_under_its_policy_and_restores_float32(registered_toy):
    seen = []
    build = train_step.build

    def recording_build(model_name, jit_compile, setting=None):
        seen.append(keras.config.dtype_policy().name)
        return build(model_name, jit_compile, setting)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_step, "build", recording_build)
        rate = train_step.images_per_second("toy_gan", jit_compile=False, steps=2, policy="mixed_bfloat16")

    assert rate > 0 and seen == ["mixed_bfloat16"]
    assert keras.config.dtype_policy().name == "float32"


def test_the_train_clis_default_setup_is_a_run_with_no_flags():
    config, dataset = train_step.default_training_setup("single_gan")

    assert (config["model"], config["preset"], config["batch_size"], config["learning_rate"]) == (
        "single_gan",
        "exp3",
        128,
        2e-4,
    )
    assert dataset.element_spec.shape.as_list()[1:] == [64, 64, 3]


def test_a_model_with_several_settings_reports_each_under_its_label(registered_toy, capsys, monkeypatch):
    small = registry.Benchmark(
        input_shapes=((1, 8, 8, 3),) * 2, label="8px", model_options=(("image_size", 8),), learning_rate=1e-3
    )
    spec = dataclasses.replace(
        toy_gan.MODEL,
        untrained=toy_gan.ToyGAN,
        more_benchmarks=(small,),
        benchmark=dataclasses.replace(
            toy_gan.MODEL.benchmark, label="16px", model_options=(("image_size", toy_gan.REGISTERED_SIZE),)
        ),
    )
    monkeypatch.setitem(registry._SPECS, "toy_gan", spec)
    monkeypatch.setattr(train_step, "MATMUL_SIZE", 256)
    train_step.main(["--model", "toy_gan", "--steps", "2", "--no-loop", "--mixed_precision", "mixed_bfloat16"])
    figures = json.loads(capsys.readouterr().out)
    assert (figures["16px_batch_size"], figures["8px_batch_size"]) == (2, 1)
    for label in ("16px", "8px"):
        for suffix in ("xla", "mixed_bfloat16_xla", "mixed_bfloat16_no_xla"):
            assert figures[f"{label}_s_per_step_{suffix}"] == pytest.approx(
                figures[f"{label}_batch_size"] / figures[f"{label}_images_per_s_{suffix}"], rel=0.05, abs=1e-4
            )
        assert figures[f"{label}_mixed_bfloat16_vs_float32_no_xla"] > 0
    # The 8 px step does a quarter of the 16 px step's work per image.
    per_image = {
        label: figures[f"{label}_train_step_gflop"] / figures[f"{label}_batch_size"] for label in ("16px", "8px")
    }
    assert per_image["8px"] == pytest.approx(per_image["16px"] / 4, rel=0.2)


def test_rates_keep_three_significant_digits_however_slow_the_step():
    assert [train_step.significant(rate) for rate in (0.073261, 41.3449, 1234.5)] == [0.0733, 41.3, 1230.0]
