"""CycleGAN's entry in the model registry (`training.registry`), named in setup.cfg's entry points.

The train CLI speaks the reference's parameters (λ_A, λ_B as --cycle_weight_a,
--cycle_weight_b; λ_identity as --relative_identity_weight; and which cycle terms
are on); `model_weights` turns them into the four term weights the model takes.
"""

from __future__ import annotations

from cyclegan.hyperparameters import RENAMED, CycleGANHyperparameters
from cyclegan.model import DIRECTIONS, CycleGAN
from training.hyperparameters import upgrade_config
from training.registry import Benchmark, ModelSpec

# --cycle_loss: the domains whose cycle term is on (the report's ablations turn them off).
CYCLE_LOSSES = {"both": ("A", "B"), "a": ("A",), "none": ()}
# The run config entries `model_weights` reads besides the cycle weights (cyclegan.train's flags).
REFERENCE_WEIGHTS = ["relative_identity_weight", "cycle_loss"]


def model_weights(config: dict) -> dict:
    """The model's term weights from the reference's λ_A, λ_B (--cycle_weight_a, --cycle_weight_b),
    λ_identity (--relative_identity_weight) and --cycle_loss.

    cycle_A = λ_A (if on), cycle_B = λ_B (if on), idt_A = λ_identity λ_B, idt_B = λ_identity λ_A,
    as the reference weighs them; turning a cycle term off leaves the identity terms as they are.
    """
    cycles_on = CYCLE_LOSSES[config["cycle_loss"]]
    lambda_a, lambda_b, lambda_identity = (
        config[name] for name in ("cycle_weight_a", "cycle_weight_b", "relative_identity_weight")
    )
    return {
        "cycle_weight_a": lambda_a if "A" in cycles_on else 0.0,
        "cycle_weight_b": lambda_b if "B" in cycles_on else 0.0,
        "identity_weight_a": lambda_identity * lambda_b,
        "identity_weight_b": lambda_identity * lambda_a,
    }


def build_model(config: dict) -> CycleGAN:
    """The CycleGAN a run's config describes; its pools draw from the run's seed."""
    config = upgrade_config(config, RENAMED)
    return CycleGAN(**CycleGANHyperparameters.arguments(config, **model_weights(config)), seed=config["seed"])


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
