"""stargan_v2.convert: official state dicts into the Keras networks, checked against PyTorch on the same weights.

The PyTorch modules below restate clovaai/stargan-v2 core/model.py's networks with its module names (so their
state dicts carry the official names) and its forward passes, at tiny sizes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from absl import flags

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from stargan_v2 import convert, networks  # noqa: E402

torch.set_num_threads(1)
SMALL = 32
SMALL_WIDTH = 32
STYLE_DIM = 16
LATENT_DIM = 8
TOLERANCE = dict(rtol=1e-4, atol=1e-4)
REPO = Path(__file__).resolve().parents[2]


def lrelu(x):
    return F.leaky_relu(x, 0.2)


class TorchResBlk(nn.Module):
    def __init__(self, dim_in, dim_out, normalize=False, downsample=False):
        super().__init__()
        self.normalize, self.downsample, self.learned_sc = normalize, downsample, dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = nn.InstanceNorm2d(dim_in, affine=True)
            self.norm2 = nn.InstanceNorm2d(dim_in, affine=True)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x):
        shortcut = self.conv1x1(x) if self.learned_sc else x
        shortcut = F.avg_pool2d(shortcut, 2) if self.downsample else shortcut
        h = self.norm1(x) if self.normalize else x
        h = self.conv1(lrelu(h))
        h = F.avg_pool2d(h, 2) if self.downsample else h
        h = self.norm2(h) if self.normalize else h
        return (shortcut + self.conv2(lrelu(h))) / math.sqrt(2)


class TorchAdaIN(nn.Module):
    def __init__(self, style_dim, num_features):
        super().__init__()
        self.norm = nn.InstanceNorm2d(num_features, affine=False)
        self.fc = nn.Linear(style_dim, num_features * 2)

    def forward(self, x, s):
        gamma, beta = torch.chunk(self.fc(s)[:, :, None, None], 2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class TorchAdainResBlk(nn.Module):
    def __init__(self, dim_in, dim_out, style_dim, w_hpf=0, upsample=False):
        super().__init__()
        self.w_hpf, self.upsample, self.learned_sc = w_hpf, upsample, dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = TorchAdaIN(style_dim, dim_in)
        self.norm2 = TorchAdaIN(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def forward(self, x, s):
        h = lrelu(self.norm1(x, s))
        h = F.interpolate(h, scale_factor=2, mode="nearest") if self.upsample else h
        h = self.conv2(lrelu(self.norm2(self.conv1(h), s)))
        if self.w_hpf > 0:
            return h
        shortcut = F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x
        shortcut = self.conv1x1(shortcut) if self.learned_sc else shortcut
        return (h + shortcut) / math.sqrt(2)


class TorchHighPass(nn.Module):
    def __init__(self, w_hpf):
        super().__init__()
        self.register_buffer("filter", torch.tensor([[-1, -1, -1], [-1, 8.0, -1], [-1, -1, -1]]) / w_hpf)

    def forward(self, x):
        kernel = self.filter[None, None].repeat(x.size(1), 1, 1, 1)
        return F.conv2d(x, kernel, padding=1, groups=x.size(1))


class TorchGenerator(nn.Module):
    def __init__(self, img_size, style_dim, max_conv_dim, w_hpf):
        super().__init__()
        dim_in = 2**14 // img_size
        self.from_rgb = nn.Conv2d(3, dim_in, 3, 1, 1)
        self.encode, self.decode = nn.ModuleList(), nn.ModuleList()
        self.to_rgb = nn.Sequential(nn.InstanceNorm2d(dim_in, affine=True), nn.LeakyReLU(0.2), nn.Conv2d(dim_in, 3, 1))
        for _ in range(int(np.log2(img_size)) - 4 + (1 if w_hpf > 0 else 0)):
            dim_out = min(dim_in * 2, max_conv_dim)
            self.encode.append(TorchResBlk(dim_in, dim_out, normalize=True, downsample=True))
            self.decode.insert(0, TorchAdainResBlk(dim_out, dim_in, style_dim, w_hpf, upsample=True))
            dim_in = dim_out
        for _ in range(2):
            self.encode.append(TorchResBlk(dim_out, dim_out, normalize=True))
            self.decode.insert(0, TorchAdainResBlk(dim_out, dim_out, style_dim, w_hpf))
        if w_hpf > 0:
            self.hpf = TorchHighPass(w_hpf)

    def forward(self, x, s, masks=None):
        x, cache = self.from_rgb(x), {}
        for block in self.encode:
            if masks is not None and x.size(2) in (32, 64, 128):
                cache[x.size(2)] = x
            x = block(x)
        for block in self.decode:
            x = block(x, s)
            if masks is not None and x.size(2) in (32, 64, 128):
                mask = masks[0] if x.size(2) == 32 else masks[1]
                mask = F.interpolate(mask, size=x.size(2), mode="bilinear")
                x = x + self.hpf(mask * cache[x.size(2)])
        return self.to_rgb(x)


class TorchMappingNetwork(nn.Module):
    def __init__(self, latent_dim, style_dim, num_domains):
        super().__init__()
        shared = [nn.Linear(latent_dim, 512), nn.ReLU()]
        for _ in range(3):
            shared += [nn.Linear(512, 512), nn.ReLU()]
        self.shared = nn.Sequential(*shared)
        self.unshared = nn.ModuleList(
            nn.Sequential(*[m for _ in range(3) for m in (nn.Linear(512, 512), nn.ReLU())], nn.Linear(512, style_dim))
            for _ in range(num_domains)
        )

    def forward(self, z, y):
        h = self.shared(z)
        return torch.stack([head(h) for head in self.unshared], dim=1)[torch.arange(len(y)), y]


def torch_trunk(img_size, max_conv_dim):
    dim_in = 2**14 // img_size
    blocks = [nn.Conv2d(3, dim_in, 3, 1, 1)]
    for _ in range(int(np.log2(img_size)) - 2):
        dim_out = min(dim_in * 2, max_conv_dim)
        blocks.append(TorchResBlk(dim_in, dim_out, downsample=True))
        dim_in = dim_out
    return blocks + [nn.LeakyReLU(0.2), nn.Conv2d(dim_out, dim_out, 4, 1, 0), nn.LeakyReLU(0.2)], dim_out


class TorchStyleEncoder(nn.Module):
    def __init__(self, img_size, style_dim, num_domains, max_conv_dim):
        super().__init__()
        blocks, dim_out = torch_trunk(img_size, max_conv_dim)
        self.shared = nn.Sequential(*blocks)
        self.unshared = nn.ModuleList(nn.Linear(dim_out, style_dim) for _ in range(num_domains))

    def forward(self, x, y):
        h = self.shared(x).flatten(1)
        return torch.stack([head(h) for head in self.unshared], dim=1)[torch.arange(len(y)), y]


class TorchDiscriminator(nn.Module):
    def __init__(self, img_size, num_domains, max_conv_dim):
        super().__init__()
        blocks, dim_out = torch_trunk(img_size, max_conv_dim)
        self.main = nn.Sequential(*blocks, nn.Conv2d(dim_out, num_domains, 1, 1, 0))

    def forward(self, x, y):
        return self.main(x).flatten(1)[torch.arange(len(y)), y]


def randomized(module: nn.Module, seed: int = 0) -> nn.Module:
    """PyTorch's default init, with norm parameters and biases moved off their ones and zeros."""
    torch.manual_seed(seed)
    module.apply(lambda m: m.reset_parameters() if hasattr(m, "reset_parameters") else None)
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.dim() == 1:
                parameter.add_(0.2 * torch.randn_like(parameter))
    return module.eval()


def numpy_state(module: nn.Module) -> dict[str, np.ndarray]:
    return {name: value.detach().numpy() for name, value in module.state_dict().items()}


def nchw(x: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def nhwc(x) -> np.ndarray:
    return x.detach().numpy().transpose(0, 2, 3, 1)


def random_images(n=2, size=SMALL, channels=3, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)).astype(np.float32)


def random_vectors(n, dim, seed=1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def converted_generator(image_size=SMALL, w_hpf=0, seed=0):
    official = randomized(TorchGenerator(image_size, STYLE_DIM, SMALL_WIDTH, w_hpf), seed)
    generator = networks.build_generator(image_size, STYLE_DIM, SMALL_WIDTH, w_hpf)
    convert.load_torch_generator(generator, numpy_state(official))
    return official, generator


@pytest.fixture(scope="module")
def tiny_generators():
    return converted_generator()


def test_convolution_instance_norm_and_linear_match_torch(tiny_generators):
    official, generator = tiny_generators
    x = random_images()
    with torch.no_grad():
        expected = F.conv2d(nchw(x), official.from_rgb.weight, official.from_rgb.bias, padding=1)
    features = np.asarray(generator.get_layer("from_rgb")(x))
    np.testing.assert_allclose(features, nhwc(expected), **TOLERANCE)

    block = generator.get_layer("encode_0")
    with torch.no_grad():
        norm = official.encode[0].norm1
        expected = F.instance_norm(nchw(features), weight=norm.weight, bias=norm.bias, eps=1e-5)
    np.testing.assert_allclose(block.norm1(features), nhwc(expected), **TOLERANCE)

    mapping = TorchMappingNetwork(LATENT_DIM, STYLE_DIM, 2)
    randomized(mapping)
    keras_mapping = networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 2)
    convert.load_torch_mapping_network(keras_mapping, numpy_state(mapping))
    z = random_vectors(3, LATENT_DIM)
    with torch.no_grad():
        expected = F.relu(F.linear(torch.from_numpy(z), mapping.shared[0].weight, mapping.shared[0].bias))
    np.testing.assert_allclose(keras_mapping.get_layer("shared_0")(z), expected.numpy(), **TOLERANCE)


def test_adain_and_blocks_match_torch(tiny_generators):
    official, generator = tiny_generators
    x, style = random_images(size=8, channels=SMALL_WIDTH), random_vectors(2, STYLE_DIM)
    with torch.no_grad():
        adain = official.decode[0].norm1(nchw(x), torch.from_numpy(style))
        decoded = official.decode[2](nchw(x), torch.from_numpy(style))  # up-sampling, learned shortcut
        features = official.from_rgb(nchw(random_images()))
        encoded = official.encode[0](features)  # down-sampling, 512 -> 32, learned shortcut
    np.testing.assert_allclose(generator.get_layer("decode_0").norm1(x, style), nhwc(adain), **TOLERANCE)
    np.testing.assert_allclose(generator.get_layer("decode_2")(x, style), nhwc(decoded), **TOLERANCE)
    np.testing.assert_allclose(generator.get_layer("encode_0")(nhwc(features)), nhwc(encoded), **TOLERANCE)


def test_whole_generator_matches_torch(tiny_generators):
    official, generator = tiny_generators
    images, styles = random_images(), random_vectors(2, STYLE_DIM)
    with torch.no_grad():
        expected = official(nchw(images), torch.from_numpy(styles))
    np.testing.assert_allclose(generator([images, styles]), nhwc(expected), **TOLERANCE)


def test_generator_with_high_pass_skips_matches_torch():
    official, generator = converted_generator(image_size=64, w_hpf=1, seed=3)  # skips at 64 and 32 px
    images, styles = random_images(size=64), random_vectors(2, STYLE_DIM)
    masks = np.random.default_rng(4).uniform(0, 1, (2, 64, 64, 2)).astype(np.float32)
    with torch.no_grad():
        expected = official(nchw(images), torch.from_numpy(styles), [nchw(masks[..., :1]), nchw(masks[..., 1:])])
    np.testing.assert_allclose(generator([images, styles, masks]), nhwc(expected), **TOLERANCE)


def test_mapping_network_style_encoder_and_discriminator_match_torch():
    domains = np.array([2, 0, 1], np.int32)
    images, latents = random_images(3), random_vectors(3, LATENT_DIM)
    cases = [
        (
            TorchMappingNetwork(LATENT_DIM, STYLE_DIM, 3),
            networks.build_mapping_network(LATENT_DIM, STYLE_DIM, 3),
            convert.load_torch_mapping_network,
            latents,
        ),
        (
            TorchStyleEncoder(SMALL, STYLE_DIM, 3, SMALL_WIDTH),
            networks.build_style_encoder(SMALL, STYLE_DIM, 3, SMALL_WIDTH),
            convert.load_torch_style_encoder,
            images,
        ),
        (
            TorchDiscriminator(SMALL, 3, SMALL_WIDTH),
            networks.build_discriminator(SMALL, 3, SMALL_WIDTH),
            convert.load_torch_discriminator,
            images,
        ),
    ]
    for official, model, load, inputs in cases:
        randomized(official)
        load(model, numpy_state(official))
        torch_inputs = torch.from_numpy(inputs) if inputs.ndim == 2 else nchw(inputs)
        with torch.no_grad():
            expected = official(torch_inputs, torch.from_numpy(domains).long()).numpy()
        np.testing.assert_allclose(model([inputs, domains]), expected, err_msg=model.name, **TOLERANCE)


def official_checkpoint(image_size=SMALL, w_hpf=0, num_domains=2, with_discriminator=False) -> dict:
    """What core/checkpoint.py saves: {network: state_dict} (torch tensors)."""
    nets = {
        "generator": TorchGenerator(image_size, STYLE_DIM, SMALL_WIDTH, w_hpf),
        "mapping_network": TorchMappingNetwork(LATENT_DIM, STYLE_DIM, num_domains),
        "style_encoder": TorchStyleEncoder(image_size, STYLE_DIM, num_domains, SMALL_WIDTH),
    }
    if with_discriminator:
        nets["discriminator"] = TorchDiscriminator(image_size, num_domains, SMALL_WIDTH)
    return {name: randomized(net, seed).state_dict() for seed, (name, net) in enumerate(nets.items())}, nets


def test_settings_are_read_off_the_tensors():
    for image_size, w_hpf, num_domains in [(SMALL, 0, 2), (64, 1, 3), (SMALL, 2, 1)]:
        checkpoint, _ = official_checkpoint(image_size, w_hpf, num_domains)
        state = {net: {k: v.numpy() for k, v in sd.items()} for net, sd in checkpoint.items()}
        assert convert.infer_settings(state) == {
            "image_size": image_size,
            "num_domains": num_domains,
            "style_dim": STYLE_DIM,
            "latent_dim": LATENT_DIM,
            "max_conv_dim": SMALL_WIDTH,
            "w_hpf": float(w_hpf),
        }


def test_data_parallel_prefixes_are_removed(tmp_path):
    checkpoint, _ = official_checkpoint()
    path = tmp_path / "parallel.ckpt"
    torch.save({net: {f"module.{k}": v for k, v in sd.items()} for net, sd in checkpoint.items()}, path)
    read = convert.read_checkpoint(path)
    assert set(read["generator"]) == set(checkpoint["generator"])


def test_cli_writes_a_networks_directory_whose_generator_translates(tmp_path):
    checkpoint, nets = official_checkpoint(with_discriminator=True)
    path = tmp_path / "000010_nets.ckpt"
    torch.save(checkpoint, path)
    out = tmp_path / "converted"
    command = [sys.executable, "-m", "stargan_v2.convert", f"--checkpoint={path}", f"--out={out}", "--domains=a,b"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "generator.keras" in result.stdout

    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "stargan_v2" and config["domains"] == ["a", "b"]
    assert (config["image_size"], config["num_domains"], config["w_hpf"]) == (SMALL, 2, 0)
    export = out / "export"
    assert sorted(p.name for p in export.iterdir()) == [
        "discriminator.keras",
        "generator.keras",
        "mapping_network.keras",
        "style_encoder.keras",
    ]
    generator = keras.saving.load_model(export / "generator.keras")
    mapping = keras.saving.load_model(export / "mapping_network.keras")
    images, latents, domains = random_images(), random_vectors(2, LATENT_DIM), np.array([1, 0], np.int32)
    translated = generator([images, np.asarray(mapping([latents, domains]))])
    with torch.no_grad():
        styles = nets["mapping_network"](torch.from_numpy(latents), torch.from_numpy(domains).long())
        expected = nets["generator"](nchw(images), styles)
    np.testing.assert_allclose(translated, nhwc(expected), **TOLERANCE)


def run_cli(argv: list[str]) -> int:
    flag_values = flags.FlagValues()
    convert.define_flags(flag_values)
    flag_values(["convert", *argv])
    return convert.convert_from_flags(flag_values)


def test_help_explains_every_flag():
    flag_values = flags.FlagValues()
    convert.define_flags(flag_values)
    for name in ("checkpoint", "wing", "out", "domains", "image_size"):
        assert len(flag_values[name].help) > 40, name


@pytest.fixture
def saved_checkpoint(tmp_path):
    checkpoint, _ = official_checkpoint()
    return tmp_path, checkpoint


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_a_missing_or_unreadable_checkpoint_is_one_line_naming_it(tmp_path, capsys):
    missing = tmp_path / "absent.ckpt"
    assert run_cli([f"--checkpoint={missing}", f"--out={tmp_path / 'out'}"]) == convert.EXIT_BAD_CHECKPOINT
    assert str(missing) in one_line_error(capsys)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a zip\n" * 10)
    assert run_cli([f"--checkpoint={garbage}", f"--out={tmp_path / 'out'}"]) == convert.EXIT_BAD_CHECKPOINT
    assert str(garbage) in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["generator"].pop("to_rgb.2.bias"), "lacks to_rgb.2.bias"),
        (lambda c: c["style_encoder"].update(extra=torch.zeros(1)), "unexpected extra"),
        (
            lambda c: c["mapping_network"].update({"shared.2.weight": torch.zeros(512, 500)}),
            "shared.2.weight has shape",
        ),
        (lambda c: c.pop("style_encoder"), "no style_encoder"),
    ],
)
def test_unexpected_names_or_shapes_are_one_line_naming_the_file(saved_checkpoint, capsys, change, message):
    tmp_path, checkpoint = saved_checkpoint
    change(checkpoint)
    path = tmp_path / "changed.ckpt"
    torch.save(checkpoint, path)
    assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / 'out'}"]) == convert.EXIT_BAD_CHECKPOINT
    error = one_line_error(capsys)
    assert str(path) in error and message in error
    assert not (tmp_path / "out").exists()


def test_domains_must_match_the_heads_and_high_pass_needs_a_fan(saved_checkpoint, capsys):
    tmp_path, checkpoint = saved_checkpoint
    path = tmp_path / "nets.ckpt"
    torch.save(checkpoint, path)
    assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / 'out'}", "--domains=a,b,c"]) == 1
    assert "3 domains" in one_line_error(capsys)
    assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / 'out'}", "--image_size=64"]) == 1
    assert "32 px" in one_line_error(capsys)

    high_pass, _ = official_checkpoint(image_size=SMALL, w_hpf=1)
    path = tmp_path / "celeba_hq.ckpt"
    torch.save(high_pass, path)
    assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / 'out'}"]) == 1
    assert "--wing" in one_line_error(capsys)


def saved_wing(path: Path, seed: int) -> dict[str, np.ndarray]:
    """A wing.ckpt-like file ({'state_dict': FAN weights}) of random weights with the official names."""
    from tests.stargan_v2.test_wing import random_state_dict  # noqa: PLC0415

    state = random_state_dict(seed)
    torch.save({"state_dict": {name: torch.from_numpy(np.asarray(value)) for name, value in state.items()}}, path)
    return state


def test_high_pass_models_get_the_fan_of_wing_or_of_the_checkpoint(tmp_path, capsys):
    checkpoint, _ = official_checkpoint(image_size=SMALL, w_hpf=1)
    wing_state = saved_wing(tmp_path / "wing.ckpt", seed=1)
    own_fan = {name: torch.from_numpy(np.asarray(value)) for name, value in saved_wing(tmp_path / "x", 2).items()}
    path = tmp_path / "100000_nets_ema.ckpt"
    torch.save({**checkpoint, "fan": own_fan}, path)

    for out, wing_flags, expected in [
        ("with_wing", [f"--wing={tmp_path / 'wing.ckpt'}"], wing_state),
        ("own", [], own_fan),
    ]:
        assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / out}", *wing_flags]) == 0, capsys.readouterr().err
        fan = keras.saving.load_model(tmp_path / out / "export" / "fan.keras")
        np.testing.assert_array_equal(
            fan.get_layer("l0").kernel, np.asarray(expected["l0.weight"]).transpose(2, 3, 1, 0)
        )
        assert json.loads((tmp_path / out / "config.json").read_text())["w_hpf"] == 1.0

    bad_wing = tmp_path / "bad_wing.ckpt"
    torch.save({"state_dict": {"l0.weight": torch.zeros(99, 256, 1, 1)}}, bad_wing)
    assert run_cli([f"--checkpoint={path}", f"--out={tmp_path / 'bad'}", f"--wing={bad_wing}"]) == 1
    error = one_line_error(capsys)
    assert str(bad_wing) in error and "lacks" in error
