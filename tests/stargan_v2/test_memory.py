"""The dry run's memory estimate: the exact training state, and activations that scale as a step's do."""

from __future__ import annotations

import pytest

from stargan_v2 import memory

OFFICIAL = {
    "image_size": 256,
    "num_domains": 2,
    "style_dim": 64,
    "latent_dim": 16,
    "max_conv_dim": 512,
    "w_hpf": 0,
    "batch_size": 8,
    "mixed_precision": "off",
}


def test_the_state_is_every_weight_its_adam_moments_the_averages_and_the_larger_gradients():
    estimate = memory.estimate(OFFICIAL)
    assert estimate.parameters == 78_100_485
    averaged = 33_892_995 + 2_438_272 + 20_916_928  # G, F, E: averaged, and the generator step's gradients
    assert estimate.state_bytes == 4 * (3 * 78_100_485 + averaged + averaged)


def test_activations_grow_with_the_batch_and_halve_under_mixed_precision():
    full = memory.estimate(OFFICIAL)
    single = memory.estimate({**OFFICIAL, "batch_size": 1})
    mixed = memory.estimate({**OFFICIAL, "mixed_precision": "mixed_bfloat16"})
    assert full.activation_bytes == 8 * single.activation_bytes == 2 * mixed.activation_bytes
    assert full.state_bytes == single.state_bytes == mixed.state_bytes


def test_the_estimate_is_near_the_official_steps_measured_peak():
    # One official PyTorch iteration at 256 px and batch 8 peaks at 17.8 GB of RSS on a CPU, the runtime included.
    assert memory.estimate(OFFICIAL).total_bytes / 1e9 == pytest.approx(17.8, rel=0.25)


def test_the_high_pass_generator_adds_its_level():
    assert memory.estimate({**OFFICIAL, "w_hpf": 1}).network_parameters["generator"] == 43_467_395


def test_recomputed_generator_blocks_keep_only_their_outputs():
    kept = memory.estimate(OFFICIAL)
    recomputed = memory.estimate({**OFFICIAL, "rematerialize_size": 128})
    # At 256 px the blocks at 128 and 256 px: encode_0 (64 -> 128 channels, 256 -> 128 px), encode_1 (128 -> 256
    # channels, 128 -> 64 px) and their decoder mirrors, three generator passes, 8 images, 4 bytes.
    spared_per_pass = (
        (4 * 256**2 * 64 + 6 * 128**2 * 128 - 128**2 * 128)
        + (4 * 128**2 * 128 + 6 * 64**2 * 256 - 64**2 * 256)
        + (4 * 128**2 * 128 + 6 * 256**2 * 64 - 256**2 * 64)
        + (4 * 64**2 * 256 + 6 * 128**2 * 128 - 128**2 * 128)
    )
    assert kept.activation_bytes - recomputed.activation_bytes == 3 * 8 * 4 * spared_per_pass
    assert recomputed.state_bytes == kept.state_bytes
