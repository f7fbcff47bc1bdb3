"""The PyTorch reference CycleGAN's train step on this CPU, to set beside `benchmarks.train_step --model cyclegan`.

    python -m benchmarks.pytorch_cyclegan_step [--image_size 128] [--residual_blocks 6] [--steps 5] [--threads 2]

Times what junyanz/pytorch-CycleGAN-and-pix2pix's `CycleGANModel.optimize_parameters`
does, with the networks its `models/networks.py` builds at the defaults
(`--netG resnet_6blocks` or `resnet_9blocks`, `--netD basic`, `--norm
instance`, ngf = ndf = 64, LSGAN, λ_A = λ_B = 10, λ_idt 0.5, Adam 2e-4, β 0.5),
rebuilt here from those facts (the repository itself is too large to bring
here): the four translations, the generators' loss and Adam step with the
discriminators frozen, then both discriminators' losses and their Adam step.
The image pool's query is the identity here (an empty pool returns its input),
as in the first 50 steps of a run. Batch 1, random images in [-1, 1].

Prints one JSON line: s/step (the best of two timings of --steps steps after 3
warm-up steps, as `benchmarks.train_step` times), the peak RSS and the CPU.
Needs torch (`pip install -e '.[convert]'`).
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.arguments import int_at_least
from benchmarks.train_step import cpu_description, peak_rss_gb

WARMUP_STEPS = 3
CYCLE_WEIGHT = 10.0
IDENTITY_WEIGHT = 0.5


def resnet_generator(nn, residual_blocks: int, filters: int = 64):
    """`ResnetGenerator(3, 3, ngf, InstanceNorm2d, use_dropout=False, n_blocks)`: reflect-pad 3, conv 7x7, two
    stride-2 convs, residual blocks (reflect-pad, conv 3x3, norm, ReLU, reflect-pad, conv 3x3, norm), two
    transposed convs (3x3, stride 2, padding 1, output padding 1), reflect-pad 3, conv 7x7, tanh. Biases on."""

    def norm(channels):
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1),
                nn.Conv2d(channels, channels, 3),
                norm(channels),
                nn.ReLU(True),
                nn.ReflectionPad2d(1),
                nn.Conv2d(channels, channels, 3),
                norm(channels),
            )

        def forward(self, x):
            return x + self.body(x)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, filters, 7), norm(filters), nn.ReLU(True)]
    for factor in (1, 2):
        layers += [
            nn.Conv2d(filters * factor, filters * factor * 2, 3, 2, 1),
            norm(filters * factor * 2),
            nn.ReLU(True),
        ]
    layers += [ResidualBlock(filters * 4) for _ in range(residual_blocks)]
    for factor in (4, 2):
        layers += [
            nn.ConvTranspose2d(filters * factor, filters * factor // 2, 3, 2, 1, output_padding=1),
            norm(filters * factor // 2),
            nn.ReLU(True),
        ]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(filters, 3, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def patchgan_discriminator(nn, filters: int = 64):
    """`NLayerDiscriminator(3, ndf, n_layers=3, InstanceNorm2d)`: 4x4 convs with padding 1, stride 2 for the first
    three, LeakyReLU 0.2, instance norms after all but the first and the last."""
    layers = [nn.Conv2d(3, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    channels = filters
    for multiplier, stride in ((2, 2), (4, 2), (8, 1)):
        layers += [
            nn.Conv2d(channels, filters * multiplier, 4, stride, 1),
            nn.InstanceNorm2d(filters * multiplier),
            nn.LeakyReLU(0.2, True),
        ]
        channels = filters * multiplier
    layers += [nn.Conv2d(channels, 1, 4, 1, 1)]
    return nn.Sequential(*layers)


def reference_step(torch, image_size: int, residual_blocks: int):
    """One `optimize_parameters` of fresh networks, as a closure over its batch."""
    nn = torch.nn
    generator_a, generator_b = (resnet_generator(nn, residual_blocks) for _ in range(2))
    discriminator_a, discriminator_b = patchgan_discriminator(nn), patchgan_discriminator(nn)
    generator_optimizer = torch.optim.Adam(
        [*generator_a.parameters(), *generator_b.parameters()], lr=2e-4, betas=(0.5, 0.999)
    )
    discriminator_optimizer = torch.optim.Adam(
        [*discriminator_a.parameters(), *discriminator_b.parameters()], lr=2e-4, betas=(0.5, 0.999)
    )
    real_a, real_b = (torch.rand(1, 3, image_size, image_size) * 2 - 1 for _ in range(2))
    mse, l1 = nn.MSELoss(), nn.L1Loss()

    def adversarial(logits, real: bool):
        return mse(logits, torch.full_like(logits, 1.0 if real else 0.0))

    def set_trainable(networks, trainable: bool):
        for network in networks:
            for parameter in network.parameters():
                parameter.requires_grad = trainable

    def step():
        fake_b, fake_a = generator_a(real_a), generator_b(real_b)
        reconstructed_a, reconstructed_b = generator_b(fake_b), generator_a(fake_a)
        set_trainable((discriminator_a, discriminator_b), False)
        generator_optimizer.zero_grad()
        identity_a, identity_b = generator_a(real_b), generator_b(real_a)
        generator_loss = (
            adversarial(discriminator_a(fake_b), True)
            + adversarial(discriminator_b(fake_a), True)
            + CYCLE_WEIGHT * (l1(reconstructed_a, real_a) + l1(reconstructed_b, real_b))
            + CYCLE_WEIGHT * IDENTITY_WEIGHT * (l1(identity_a, real_b) + l1(identity_b, real_a))
        )
        generator_loss.backward()
        generator_optimizer.step()
        set_trainable((discriminator_a, discriminator_b), True)
        discriminator_optimizer.zero_grad()
        for discriminator, real, fake in ((discriminator_a, real_b, fake_b), (discriminator_b, real_a, fake_a)):
            loss = 0.5 * (adversarial(discriminator(real), True) + adversarial(discriminator(fake.detach()), False))
            loss.backward()
        discriminator_optimizer.step()
        return float(generator_loss)

    return step


def seconds_per_step(step, steps: int, repeats: int = 2) -> float:
    """The best of `repeats` timings of `steps` steps, after WARMUP_STEPS."""
    for _ in range(WARMUP_STEPS):
        step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, (time.perf_counter() - start) / steps)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image_size", type=int_at_least(32), default=128, help="side of the square images (px)")
    parser.add_argument(
        "--residual_blocks", type=int_at_least(1), default=6, help="the generator's residual blocks (6 or 9)"
    )
    parser.add_argument("--steps", type=int_at_least(1), default=5, help="steps per timing (timed twice)")
    parser.add_argument("--threads", type=int_at_least(1), default=2, help="torch's intra-op threads")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        parser.error("needs torch: pip install -e '.[convert]'")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    step = reference_step(torch, args.image_size, args.residual_blocks)
    figures = {
        "benchmark": "pytorch_cyclegan_step",
        "image_size": args.image_size,
        "residual_blocks": args.residual_blocks,
        "torch": torch.__version__,
        "threads": args.threads,
        "s_per_step": round(seconds_per_step(step, args.steps), 4),
        "peak_rss_gb": round(peak_rss_gb(), 2),
        **cpu_description(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
