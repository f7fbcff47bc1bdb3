"""XGAN's entry in the model registry (`training.registry`), named in setup.cfg's entry points."""

from __future__ import annotations

import keras

from training.hyperparameters import upgrade_config
from training.registry import Benchmark, ModelSpec
from xgan.hyperparameters import RENAMED, XGANHyperparameters
from xgan.model import DIRECTIONS, XGAN
from xgan.networks import IMAGE_SHAPE


def build_model(config: dict) -> XGAN:
    """The XGAN a run's config describes, with its teacher loaded and the gradient-reversal ramp over the run."""
    config = upgrade_config(config, RENAMED)
    teacher = keras.saving.load_model(config["teacher_model"], compile=False) if config["teacher_model"] else None
    ramp_steps = config["epochs"] * config["steps_per_epoch"] if config["gradient_reversal_ramp"] == "ganin" else 0
    return XGAN(**XGANHyperparameters.arguments(config), gradient_reversal_ramp_steps=ramp_steps, teacher=teacher)


MODEL = ModelSpec(
    name="xgan",
    build=build_model,
    untrained=XGAN,
    generators=DIRECTIONS,
    directions=DIRECTIONS,
    direction_descriptions=("faces to cartoons", "cartoons to faces"),
    # The report's setting: unpaired batches of 16 faces and 16 cartoons at 64x64, Adam 2e-4 (0.5, 0.999).
    benchmark=Benchmark(input_shapes=((16, *IMAGE_SHAPE), (16, *IMAGE_SHAPE))),
    train_module="xgan.train",
)
