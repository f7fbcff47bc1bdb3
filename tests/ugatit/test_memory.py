"""ugatit.memory: the analytic parameter counts against built networks, and the estimate's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from absl import flags

from ugatit import memory, networks, train

GLOBAL, LOCAL = networks.GLOBAL_DISCRIMINATOR_LAYERS, networks.LOCAL_DISCRIMINATOR_LAYERS
POLICIES = ("off", "mixed_float16", "mixed_bfloat16")


def trainable_count(model) -> int:
    return sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)


# --- parameter counts ---


@pytest.mark.parametrize(
    "image_size, light, filters",
    [(96, True, 8), (96, False, 8), (128, True, 16), (128, False, 16), (96, False, 16), (128, True, 8)],
)
def test_generator_parameters_equal_the_built_generator(image_size, light, filters):
    generator = networks.ugatit_generator(image_size, light=light, filters=filters)
    assert memory.generator_parameters(image_size, light, filters) == generator.count_params()


@pytest.mark.parametrize(
    "image_size, n_layers, filters",
    [(96, GLOBAL, 8), (96, LOCAL, 8), (128, GLOBAL, 16), (96, LOCAL, 16), (128, LOCAL, 8)],
)
def test_discriminator_parameters_equal_the_built_discriminators_trainable_count(image_size, n_layers, filters):
    discriminator = networks.ugatit_discriminator(image_size, n_layers=n_layers, filters=filters)
    assert memory.discriminator_parameters(n_layers, filters) == trainable_count(discriminator)


def test_pinned_reference_counts_at_256_px():
    assert memory.generator_parameters(256, light=True) == 10_589_888
    assert memory.generator_parameters(256, light=False) == 278_959_808
    assert memory.discriminator_parameters(GLOBAL) == 53_130_176
    assert memory.discriminator_parameters(LOCAL) == 3_290_560


def test_light_generator_count_does_not_depend_on_the_image_size():
    assert {memory.generator_parameters(size, light=True) for size in (96, 128, 256, 512)} == {10_589_888}


def test_full_generator_count_grows_with_the_flattened_bottleneck():
    """Only the MLP's first Dense changes: (S/4)^2 x 256 inputs x 256 units instead of 256 x 256."""
    for size in (96, 128, 256):
        extra = ((size // 4) ** 2 - 1) * 256 * 256
        assert memory.generator_parameters(size, light=False) == 10_589_888 + extra


# --- the estimate ---


def test_estimate_counts_two_generators_and_four_discriminators():
    estimate = memory.estimate(256, light=False)
    assert estimate.parameters == 2 * 278_959_808 + 2 * (53_130_176 + 3_290_560) == 670_761_088
    assert memory.estimate(256, light=True).parameters == 2 * 10_589_888 + 2 * (53_130_176 + 3_290_560)


@pytest.mark.parametrize("image_size, light, filters", [(256, False, 64), (256, True, 64), (128, True, 16)])
@pytest.mark.parametrize("mixed_precision", POLICIES)
def test_state_is_float32_weights_moments_and_the_larger_gradient_set_without_the_mlp_kernels(
    image_size, light, filters, mixed_precision
):
    """Adam takes each generator's first MLP kernel gradient as its factors (ugatit.factored_updates)."""
    generators = 2 * memory.generator_parameters(image_size, light, filters)
    discriminators = 2 * (
        memory.discriminator_parameters(GLOBAL, filters) + memory.discriminator_parameters(LOCAL, filters)
    )
    generator_gradients = generators - 2 * memory.mlp_kernel_parameters(image_size, light, filters)
    estimate = memory.estimate(image_size, light, filters, mixed_precision=mixed_precision)
    assert estimate.parameters == generators + discriminators
    assert estimate.state_bytes == 4 * (3 * (generators + discriminators) + max(generator_gradients, discriminators))
    assert estimate.total_bytes == estimate.state_bytes + estimate.activation_bytes


def test_the_mlp_kernels_have_268m_weights_in_full_mode_and_their_gradients_are_never_counted():
    """Full mode at 256 px, in every policy: Adam takes each block's gradient as factors, loss-scaled or not."""
    assert memory.mlp_kernel_parameters(256, light=False) == 268_435_456
    assert memory.mlp_kernel_parameters(256, light=True) == 256 * 256
    states = {policy: memory.estimate(256, light=False, mixed_precision=policy).state_bytes for policy in POLICIES}
    discriminators = 2 * (53_130_176 + 3_290_560)
    assert set(states.values()) == {4 * (3 * 670_761_088 + discriminators)}


def test_gradients_counted_are_the_discriminators_when_they_are_larger():
    """Light at 256 px: 21.2M generator parameters, 112.8M discriminator ones."""
    light = memory.estimate(256, light=True)
    discriminators = 2 * (53_130_176 + 3_290_560)
    assert light.state_bytes == 4 * (3 * light.parameters + discriminators)


@pytest.mark.parametrize("light", [True, False], ids=["light", "full"])
def test_bfloat16_halves_the_activations_only(light):
    full_precision = memory.estimate(256, light, batch_size=2)
    mixed = memory.estimate(256, light, batch_size=2, mixed_precision="mixed_bfloat16")
    assert mixed.activation_bytes * 2 == full_precision.activation_bytes
    assert mixed.state_bytes == full_precision.state_bytes
    assert mixed.parameters == full_precision.parameters


@pytest.mark.parametrize("mixed_precision", ["off", "mixed_float16"])
def test_activations_scale_linearly_with_the_batch(mixed_precision):
    one = memory.estimate(256, light=True, batch_size=1, mixed_precision=mixed_precision)
    for batch_size in (2, 3, 8):
        batch = memory.estimate(256, light=True, batch_size=batch_size, mixed_precision=mixed_precision)
        assert batch.activation_bytes == batch_size * one.activation_bytes
        assert batch.state_bytes == one.state_bytes


def test_activations_grow_with_the_image_and_the_filters():
    assert memory.estimate(128, True).activation_bytes < memory.estimate(256, True).activation_bytes
    assert memory.estimate(256, True, filters=32).activation_bytes < memory.estimate(256, True).activation_bytes


def test_full_needs_more_than_light():
    full, light = memory.estimate(256, light=False), memory.estimate(256, light=True)
    assert full.parameters > light.parameters
    assert full.state_bytes > light.state_bytes
    assert full.total_bytes > light.total_bytes
    # Full mode recomputes its encoder and upsampling stages' maps, keeping only each stage's output.
    kept_fewer = (memory.TENSORS_KEPT["encoder"] - 1) * (256 * 256 * 64 + 128 * 128 * 128 + 64 * 64 * 256) + (
        memory.TENSORS_KEPT["upsample"] - 1
    ) * (128 * 128 * 128 + 256 * 256 * 64)
    assert light.activation_bytes - full.activation_bytes == 4 * memory.GENERATOR_PASSES * kept_fewer


def test_describe_reports_the_parameters_and_gigabytes():
    text = memory.estimate(256, light=False).describe()
    assert text.startswith("670,761,088 parameters; estimated training memory ")
    assert f"{memory.estimate(256, light=False).state_bytes / 1e9:.1f} GB" in text


# --- the run settings full mode asks for ---


@pytest.mark.parametrize(
    "arguments, threshold_mb",
    [
        ([], 1.0),
        (["--light"], 0.0),
        (["--malloc_mmap_threshold_mb=0"], 0.0),
        (["--light", "--malloc_mmap_threshold_mb=2"], 2.0),
    ],
)
def test_full_mode_sets_mallocs_mmap_threshold_unless_the_flag_is_given(arguments, threshold_mb):
    flag_values = flags.FlagValues()
    train.define_flags(flag_values)
    flag_values(["ugatit.train", *arguments])
    assert train.resolve_config(flag_values)["malloc_mmap_threshold_mb"] == threshold_mb
