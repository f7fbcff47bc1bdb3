"""The DCGAN's entry in the model registry (`training.registry`), named in setup.cfg's entry points."""

from __future__ import annotations

from single_gan import networks
from single_gan.hyperparameters import RENAMED, DCGANHyperparameters
from single_gan.model import DCGAN
from training.hyperparameters import upgrade_config
from training.registry import Benchmark, ModelSpec


def build_model(config: dict) -> DCGAN:
    """The DCGAN a run's config describes; its training noise is drawn from the run's seed."""
    config = upgrade_config(config, RENAMED)
    return DCGAN(**DCGANHyperparameters.arguments(config), seed=config["seed"])


MODEL = ModelSpec(
    name="single_gan",
    build=build_model,
    untrained=DCGAN,
    generators=("generator",),
    directions=(),  # it draws from noise
    # The report's setting: batches of 128 cartoons at 64x64, Adam 2e-4 (0.5, 0.999).
    benchmark=Benchmark(input_shapes=((128, *networks.IMAGE_SHAPE),)),
    train_module="single_gan.train",
)
