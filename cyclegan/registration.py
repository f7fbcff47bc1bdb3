"""CycleGAN's entry in the model registry (`training.registry`), named in setup.cfg's entry points.

The train CLI speaks the reference's parameters (λ_A, λ_B, λ_identity and which
cycle terms are on); `model_weights` turns them into the four term weights the
model takes.
"""

from __future__ import annotations

from cyclegan.model import DIRECTIONS, CycleGAN
from training.registry import Benchmark, ModelSpec

# --cycle_loss: the domains whose cycle term is on (the report's ablations turn them off).
CYCLE_LOSSES = {"both": ("A", "B"), "a": ("A",), "none": ()}
MODEL_ARGUMENTS = [
    "image_size",
    "residual_blocks",
    "generator_filters",
    "discriminator_filters",
    "gan_loss",
    "pool_size",
]
REFERENCE_WEIGHTS = ["lambda_a", "lambda_b", "lambda_identity", "cycle_loss"]


def model_weights(config: dict) -> dict:
    """The model's term weights from the reference's λ_A, λ_B, λ_identity and --cycle_loss.

    cycle_A = λ_A (if on), cycle_B = λ_B (if on), idt_A = λ_identity λ_B, idt_B = λ_identity λ_A,
    as the reference weighs them; turning a cycle term off leaves the identity terms as they are.
    """
    cycles_on = CYCLE_LOSSES[config["cycle_loss"]]
    return {
        "cycle_weight_a": config["lambda_a"] if "A" in cycles_on else 0.0,
        "cycle_weight_b": config["lambda_b"] if "B" in cycles_on else 0.0,
        "identity_weight_a": config["lambda_identity"] * config["lambda_b"],
        "identity_weight_b": config["lambda_identity"] * config["lambda_a"],
    }


def build_model(config: dict) -> CycleGAN:
    return CycleGAN(**{name: config[name] for name in MODEL_ARGUMENTS}, **model_weights(config), seed=config["seed"])


MODEL = ModelSpec(
    name="cyclegan",
    build=build_model,
    untrained=CycleGAN,
    generators=DIRECTIONS,
    directions=DIRECTIONS,
    direction_descriptions=("G_A, domain A to B", "G_B, domain B to A"),
    # The paper's setting: one image of each domain at 256x256 (ResNet-9 generators), Adam 2e-4 (0.5, 0.999);
    # and the reference's 128 px setting (ResNet-6).
    benchmark=Benchmark(input_shapes=((1, 256, 256, 3), (1, 256, 256, 3)), label="256px_resnet9"),
    more_benchmarks=(
        Benchmark(
            input_shapes=((1, 128, 128, 3), (1, 128, 128, 3)),
            label="128px_resnet6",
            model_options=(("image_size", 128), ("residual_blocks", 6)),
        ),
    ),
    train_module="cyclegan.train",
)
