"""The PyTorch reference CycleGAN step: its networks have the official sizes, and its step trains them."""

import numpy as np
import pytest

from benchmarks import pytorch_cyclegan_step

torch = pytest.importorskip("torch")  # the `convert` extra, which .ci/run installs


def parameter_count(network) -> int:
    return sum(parameter.numel() for parameter in network.parameters())


def test_the_reference_networks_have_the_official_parameter_counts():
    # junyanz/pytorch-CycleGAN-and-pix2pix at ngf = ndf = 64 (as tests/cyclegan pins them for the Keras networks).
    assert parameter_count(pytorch_cyclegan_step.resnet_generator(torch.nn, 9)) == 11_378_179
    assert parameter_count(pytorch_cyclegan_step.resnet_generator(torch.nn, 6)) == 7_837_699
    assert parameter_count(pytorch_cyclegan_step.patchgan_discriminator(torch.nn)) == 2_764_737


def test_a_reference_step_lowers_the_generators_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    step = pytorch_cyclegan_step.reference_step(torch, image_size=32, residual_blocks=1)
    losses = [step() for _ in range(8)]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
