"""What StarGAN v2 tests share: a tiny networks directory, as `stargan_v2.translate` reads it.

from tests.stargan_v2.conftest import make_networks_dir

networks_dir = make_networks_dir(tmp_path / "networks")  # or the session fixture `tiny_networks_dir`
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import pytest

from stargan_v2 import networks
from training.run import RunLayout

TINY_IMAGE_SIZE = 32
TINY_MAX_CONV_DIM = 16
TINY_STYLE_DIM = 16
TINY_LATENT_DIM = 8
TINY_DOMAINS = ("photo", "cartoon")


def make_networks_dir(
    directory,
    domains=TINY_DOMAINS,
    image_size: int = TINY_IMAGE_SIZE,
    max_conv_dim: int = TINY_MAX_CONV_DIM,
    style_dim: int = TINY_STYLE_DIM,
    latent_dim: int = TINY_LATENT_DIM,
    w_hpf: int = 0,
    seed: int = 0,
) -> Path:
    """A StarGAN v2 networks directory of freshly initialised networks (seeded): config.json with the keys
    CONTRACT.md lists and export/{generator,mapping_network,style_encoder}.keras, plus an untrained
    export/fan.keras when w_hpf > 0. Returns `directory` as a Path."""
    from stargan_v2 import wing

    layout = RunLayout.open(directory)
    layout.export_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    exports = [
        networks.build_generator(image_size, style_dim, max_conv_dim, w_hpf),
        networks.build_mapping_network(latent_dim, style_dim, len(domains)),
        networks.build_style_encoder(image_size, style_dim, len(domains), max_conv_dim),
    ]
    if w_hpf > 0:
        exports.append(wing.build_fan())
    for network in exports:
        network.save(layout.export_path(network.name))
    config = {
        "model": "stargan_v2",
        "image_size": image_size,
        "domains": list(domains),
        "num_domains": len(domains),
        "style_dim": style_dim,
        "latent_dim": latent_dim,
        "w_hpf": w_hpf,
        "max_conv_dim": max_conv_dim,
    }
    layout.config_path.write_text(json.dumps(config, indent=2))
    return layout.run_dir


@pytest.fixture(scope="session")
def tiny_networks_dir(tmp_path_factory) -> Path:
    """One tiny networks directory (32 px, max_conv_dim 16, domains photo and cartoon) for the whole test run;
    tests must not write into it."""
    return make_networks_dir(tmp_path_factory.mktemp("stargan_v2_networks"))
