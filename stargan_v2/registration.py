"""StarGAN v2's entry in the model registry (`training.registry`), named in setup.cfg's entry points.

Its generator translates with a style code, not alone, so it has no directions for the shared translate
CLI: `stargan_v2.translate` applies it, and its `StyleTranslator` is the spec's guided translator, with
which `evaluation.semantics` scores a run's reference- and latent-guided translations.
"""

from __future__ import annotations

import keras

from stargan_v2 import wing_layers  # noqa: F401  (registers the FAN's layers, which its file names)
from stargan_v2.hyperparameters import StarGANv2Hyperparameters
from stargan_v2.model import StarGANv2
from stargan_v2.translate import NETWORKS, StyleTranslator
from training.registry import Benchmark, ModelSpec

OFFICIAL_IMAGE_SIZE = 256
OFFICIAL_DOMAINS = 2


def official_batch(batch_size: int) -> dict:
    """A training batch (sources, source_domains, references, second_references, target_domains) of the official
    setting at `batch_size`, and its optimizer: Adam 1e-4, β (0, 0.99), weight decay 1e-4 added to the gradient."""
    images, domains = (batch_size, OFFICIAL_IMAGE_SIZE, OFFICIAL_IMAGE_SIZE, 3), (batch_size,)
    return {
        "input_shapes": (images, domains, images, images, domains),
        "input_dtypes": ("float32", "int32", "float32", "float32", "int32"),
        "label_count": OFFICIAL_DOMAINS,
        "learning_rate": 1e-4,
        "beta_1": 0.0,
        "beta_2": 0.99,
        "weight_decay": 1e-4,
        "model_options": (("w_hpf", 0), ("num_domains", OFFICIAL_DOMAINS)),
    }


def build_model(config: dict) -> StarGANv2:
    """The StarGAN v2 a run's config describes; its latent codes draw from the run's seed. With w_hpf = 1 its
    FAN takes the pretrained weights of the config's "fan" file (`stargan_v2.train --fan`)."""
    model = StarGANv2(**StarGANv2Hyperparameters.arguments(config), seed=config["seed"])
    if model.w_hpf:
        model.fan.set_weights(keras.saving.load_model(config["fan"], compile=False).get_weights())
    return model


MODEL = ModelSpec(
    name="stargan_v2",
    build=build_model,
    untrained=StarGANv2,
    generators=NETWORKS,
    directions=(),
    # The official step (AFHQ's w_hpf 0, 2 domains, 256 px): batches of 8; and of 1.
    benchmark=Benchmark(label="256px_batch8", **official_batch(8)),
    more_benchmarks=(Benchmark(label="256px_batch1", **official_batch(1)),),
    train_module="stargan_v2.train",
    guided_translator=StyleTranslator.load,
)
