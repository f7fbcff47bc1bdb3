"""--max_conv_dim caps every width, the first included: small networks for short runs, the official ones unchanged."""

from __future__ import annotations

from stargan_v2 import networks


def widths(image_size: int, max_conv_dim: int) -> set[int]:
    encoder, decoder = networks.generator_plan(image_size, max_conv_dim, w_hpf=0)
    trunk = networks.trunk_plan(image_size, max_conv_dim)
    return {width for block in (*encoder, *decoder) for width in block[:2]} | {w for block in trunk for w in block}


def test_a_small_max_conv_dim_narrows_the_first_layers_too():
    assert networks.first_width(64, 32) == 32 and max(widths(64, 32)) == 32
    generator = networks.build_generator(64, style_dim=16, max_conv_dim=32)
    assert generator.get_layer("from_rgb").kernel.shape[-1] == 32
    # The stem's 3x3 convolution at full resolution: 256 channels without the cap, 64x fewer weights with it.
    assert networks.parameter_counts(64, max_conv_dim=32)["generator"] < networks.parameter_counts(64)["generator"] / 20


def test_the_official_widths_are_unchanged():
    for image_size in (32, 64, 128, 256, 512):
        assert networks.first_width(image_size, 512) == 2**14 // image_size
