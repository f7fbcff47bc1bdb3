"""The official PyTorch checkpoints of StarGAN v2 as a Keras networks directory.

usage: python -m stargan_v2.convert --checkpoint 100000_nets_ema.ckpt [--wing wing.ckpt] --out DIR
           [--domains female,male] [--image_size 256]

The official checkpoint (clovaai/stargan-v2, core/checkpoint.py) is `torch.save` of
{network name: state_dict} for generator, mapping_network and style_encoder (and discriminator in the
*_nets.ckpt files, fan when the run used w_hpf > 0). Every setting is read off the tensors: image size from
the generator's first width (`2**14 // img_size`), w_hpf from its `hpf.filter` buffer (the kernel's centre is
8 / w_hpf), num_domains from the mapping network's per-domain heads, latent and style sizes from its first and
last Linear. The Keras networks of `stargan_v2.networks` are built with those settings and filled: conv weights
OIHW → HWIO, Linear weights transposed, instance-norm weight/bias → gamma/beta. DIR then holds config.json
and export/<network>.keras (plus fan.keras when w_hpf > 0, from --wing or the checkpoint's own `fan` entry),
what `python -m stargan_v2.translate` reads.

PyTorch is needed only here (the `convert` extra: pip install -e .[convert]); it is imported when a checkpoint
is read.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import keras
import numpy as np
from absl import app, flags

from stargan_v2 import networks
from stargan_v2.layers import HIGH_PASS_KERNEL
from training.run import RunLayout

MODEL_NAME = "stargan_v2"
REQUIRED_NETWORKS = ("generator", "mapping_network", "style_encoder")
DATA_PARALLEL_PREFIX = "module."
EXIT_BAD_CHECKPOINT = 1
EXIT_USAGE = 2

# (Keras variable, checkpoint name, what turns the checkpoint array into the variable's layout)
Assignment = tuple[keras.Variable, str, Callable[[np.ndarray], np.ndarray]]


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or whose names or shapes are not the official networks'."""


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    flags.DEFINE_string(
        "checkpoint",
        None,
        "The official checkpoint to convert, e.g. expr/checkpoints/celeba_hq/100000_nets_ema.ckpt (the EMA weights "
        "the official evaluation uses) or *_nets.ckpt (also holds the discriminator, converted too).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "wing",
        None,
        "The official FAN landmark checkpoint (expr/checkpoints/wing.ckpt): needed when the generator has high-pass "
        "skips (w_hpf > 0, CelebA-HQ) and the checkpoint holds no `fan` entry of its own; written as export/fan.keras.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "out",
        None,
        "The networks directory to write (created): config.json and export/<network>.keras.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "domains",
        ["female", "male"],
        "Comma-separated domain names, in the order of the checkpoint's domain indices (the official sorts the "
        "training folders: CelebA-HQ female,male; AFHQ cat,dog,wild). As many as the mapping network has heads.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "image_size",
        None,
        "Image size the generator was trained at; by default read off the checkpoint (the generator's first "
        "width is 2**14 // image_size: 256 for the official CelebA-HQ and AFHQ models). Given, it is checked.",
        lower_bound=8,
        flag_values=flag_values,
    )
    flags.mark_flags_as_required(["checkpoint", "out"], flag_values=flag_values)


def read_checkpoint(path) -> dict[str, dict[str, np.ndarray]]:
    """The {entry: {name: float32 array}} of a `torch.save`d dict of state dicts (tensors only, loaded with
    `weights_only=True`), DataParallel's 'module.' prefixes removed. Raises CheckpointError naming the file."""
    import torch  # noqa: PLC0415 - the optional `convert` extra, needed by this CLI only

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises anything from pickle, zip and its own checks
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({reason})") from error
    if not isinstance(content, Mapping):
        raise CheckpointError(f"{path}: holds a {type(content).__name__}, not a dict of state dicts")
    return {
        str(entry): _without_data_parallel_prefix(
            {str(name): value.detach().cpu().float().numpy() for name, value in state.items() if torch.is_tensor(value)}
        )
        for entry, state in content.items()
        if isinstance(state, Mapping)
    }


def infer_settings(checkpoint: Mapping[str, Mapping[str, np.ndarray]]) -> dict:
    """image_size, num_domains, style_dim, latent_dim, max_conv_dim and w_hpf of the checkpoint's networks."""
    missing = [name for name in REQUIRED_NETWORKS if name not in checkpoint]
    if missing:
        raise CheckpointError(f"no {', '.join(missing)} entry (it has {', '.join(sorted(checkpoint)) or 'none'})")
    generator, mapping = checkpoint["generator"], checkpoint["mapping_network"]
    first_width = _array(generator, "from_rgb.weight", "generator").shape[0]
    image_size = 2**14 // first_width
    w_hpf = 0.0
    if "hpf.filter" in generator:
        high_pass = generator["hpf.filter"]
        if high_pass.shape != HIGH_PASS_KERNEL.shape or not high_pass[1, 1] > 0:
            raise CheckpointError(f"generator's hpf.filter is not a high-pass kernel: {high_pass.tolist()}")
        w_hpf = float(HIGH_PASS_KERNEL[1, 1] / high_pass[1, 1])  # the kernel is [[-1..], [-1, 8, -1], [..-1]] / w_hpf
    encoder_blocks = _indices(generator, "encode")
    if not encoder_blocks:
        raise CheckpointError("generator has no encode.<i> blocks")
    heads = _indices(mapping, "unshared")
    if not heads:
        raise CheckpointError("mapping_network has no unshared.<k> heads")
    last_linear = 2 * networks.MAPPING_HIDDEN_LAYERS_PER_DOMAIN
    settings = {
        "image_size": image_size,
        "num_domains": len(heads),
        "style_dim": _array(mapping, f"unshared.0.{last_linear}.weight", "mapping_network").shape[0],
        "latent_dim": _array(mapping, "shared.0.weight", "mapping_network").shape[1],
        "max_conv_dim": max(
            _array(generator, f"encode.{i}.conv2.weight", "generator").shape[0] for i in encoder_blocks
        ),
        "w_hpf": w_hpf,
    }
    expected_blocks = len(networks.generator_plan(image_size, settings["max_conv_dim"], w_hpf)[0])
    if len(encoder_blocks) != expected_blocks:
        raise CheckpointError(
            f"generator has {len(encoder_blocks)} encoder blocks; its first width {first_width} means "
            f"{image_size} px, which has {expected_blocks} with w_hpf={w_hpf:g}"
        )
    return settings


def load_torch_generator(generator: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Fills a `networks.build_generator` model from the official `Generator`'s state dict."""
    assignments = [*_conv(generator.get_layer("from_rgb"), "from_rgb")]
    encoder = _numbered_layers(generator, "encode")
    decoder = _numbered_layers(generator, "decode")
    for index, block in enumerate(encoder):
        assignments += _res_block(block, f"encode.{index}")
    for index, block in enumerate(decoder):
        assignments += _adain_res_block(block, f"decode.{index}")
    assignments += _instance_norm(generator.get_layer("to_rgb_norm"), "to_rgb.0")
    assignments += _conv(generator.get_layer("to_rgb_conv"), "to_rgb.2")
    w_hpf = decoder[0].w_hpf
    buffers = {"hpf.filter": HIGH_PASS_KERNEL / w_hpf} if w_hpf > 0 else {}
    _assign("generator", assignments, state_dict, buffers)


def load_torch_mapping_network(mapping_network: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Fills a `networks.build_mapping_network` model from the official `MappingNetwork`'s state dict: the
    Linear layers sit at the even indices of its Sequentials (a ReLU follows each)."""
    assignments = []
    for index in range(networks.MAPPING_SHARED_LAYERS):
        assignments += _dense(mapping_network.get_layer(f"shared_{index}"), f"shared.{2 * index}")
    for layer in mapping_network.layers:
        match = re.fullmatch(r"unshared_(\d+)_(\d+)", layer.name)
        if match:
            assignments += _dense(layer, f"unshared.{match[1]}.{2 * int(match[2])}")
    _assign("mapping_network", assignments, state_dict)


def load_torch_style_encoder(style_encoder: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Fills a `networks.build_style_encoder` model from the official `StyleEncoder`'s state dict."""
    assignments = _trunk(style_encoder, "shared")
    for layer in style_encoder.layers:
        match = re.fullmatch(r"unshared_(\d+)", layer.name)
        if match:
            assignments += _dense(layer, f"unshared.{match[1]}")
    _assign("style_encoder", assignments, state_dict)


def load_torch_discriminator(discriminator: keras.Model, state_dict: Mapping[str, np.ndarray]) -> None:
    """Fills a `networks.build_discriminator` model from the official `Discriminator`'s state dict."""
    assignments = _trunk(discriminator, "main")
    last_conv_index = len(_numbered_layers(discriminator, "block")) + 4
    assignments += _conv(discriminator.get_layer("logits"), f"main.{last_conv_index}")
    _assign("discriminator", assignments, state_dict)


def convert_checkpoint(
    checkpoint_path, out_dir, domains: list[str], wing_path=None, image_size: int | None = None
) -> RunLayout:
    """Reads the official checkpoint (and the FAN's), builds and fills the Keras networks and writes the networks
    directory `out_dir`. Raises CheckpointError (naming the file) before writing anything when a file does not
    fit."""
    checkpoint = read_checkpoint(checkpoint_path)
    settings = _checked(checkpoint_path, lambda: infer_settings(checkpoint))
    if image_size is not None and image_size != settings["image_size"]:
        raise CheckpointError(
            f"{checkpoint_path}: --image_size {image_size}, but the generator's first width "
            f"{2**14 // settings['image_size']} means {settings['image_size']} px"
        )
    if len(domains) != settings["num_domains"]:
        raise CheckpointError(
            f"{checkpoint_path}: --domains names {len(domains)} domains ({','.join(domains)}), the mapping network "
            f"has {settings['num_domains']} heads"
        )
    fan_state = _fan_state(checkpoint_path, checkpoint, wing_path) if settings["w_hpf"] > 0 else None

    models = _checked(checkpoint_path, lambda: _converted_networks(checkpoint, settings))
    if fan_state is not None:
        from stargan_v2 import wing  # noqa: PLC0415 - only the w_hpf > 0 models use the FAN

        fan = wing.build_fan()
        _checked(wing_path or checkpoint_path, lambda: wing.load_torch_fan(fan, fan_state))
        models[wing.FAN_EXPORT] = fan

    layout = RunLayout.open(out_dir)
    layout.export_dir.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        model.save(layout.export_path(name))
    config = {
        "model": MODEL_NAME,
        **settings,
        "domains": list(domains),
        "converted_from": str(Path(checkpoint_path).resolve()),
    }
    layout.config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return layout


def _converted_networks(checkpoint, settings) -> dict[str, keras.Model]:
    size, width, w_hpf = settings["image_size"], settings["max_conv_dim"], settings["w_hpf"]
    style_dim, num_domains = settings["style_dim"], settings["num_domains"]
    models = {
        "generator": networks.build_generator(size, style_dim, width, w_hpf),
        "mapping_network": networks.build_mapping_network(settings["latent_dim"], style_dim, num_domains),
        "style_encoder": networks.build_style_encoder(size, style_dim, num_domains, width),
    }
    load_torch_generator(models["generator"], checkpoint["generator"])
    load_torch_mapping_network(models["mapping_network"], checkpoint["mapping_network"])
    load_torch_style_encoder(models["style_encoder"], checkpoint["style_encoder"])
    if "discriminator" in checkpoint:
        models["discriminator"] = networks.build_discriminator(size, num_domains, width)
        load_torch_discriminator(models["discriminator"], checkpoint["discriminator"])
    return models


def _fan_state(checkpoint_path, checkpoint, wing_path) -> dict[str, np.ndarray]:
    """The FAN's state dict: wing.ckpt's 'state_dict' entry, else the checkpoint's own 'fan' entry."""
    if wing_path is not None:
        wing_checkpoint = read_checkpoint(wing_path)
        if "state_dict" not in wing_checkpoint:
            raise CheckpointError(f"{wing_path}: no 'state_dict' entry, not the official wing.ckpt")
        return wing_checkpoint["state_dict"]
    if "fan" in checkpoint:
        return checkpoint["fan"]
    raise CheckpointError(
        f"{checkpoint_path}: the generator has high-pass skips (w_hpf > 0), which need the FAN landmark network, "
        "and the checkpoint holds none: pass --wing wing.ckpt"
    )


def _checked(path, step: Callable):
    """`step()`, its ValueError (CheckpointError included) or KeyError (a name the state dict lacks) reworded
    as a CheckpointError naming `path`."""
    try:
        return step()
    except ValueError as error:
        raise CheckpointError(f"{path}: {error}") from error
    except KeyError as error:
        raise CheckpointError(f"{path}: lacks {error.args[0]}") from error


def _assign(
    network: str,
    assignments: list[Assignment],
    state_dict: Mapping[str, np.ndarray],
    buffers: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Checks that `state_dict` has exactly the names of `assignments` (and `buffers`, compared by value), each of
    the right shape, then assigns them."""
    buffers = buffers or {}
    expected = {name for _, name, _ in assignments} | set(buffers)
    missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
    if missing or unexpected:
        problems = [f"lacks {_listed(missing)}"] if missing else []
        problems += [f"has unexpected {_listed(unexpected)}"] if unexpected else []
        raise CheckpointError(f"{network} {' and '.join(problems)}")
    for name, value in buffers.items():
        if state_dict[name].shape != value.shape or not np.allclose(state_dict[name], value):
            raise CheckpointError(f"{network}'s {name} is not the high-pass kernel of w_hpf inferred")
    values = []
    for variable, name, to_keras in assignments:
        value = to_keras(np.asarray(state_dict[name], dtype=np.float32))
        if value.shape != tuple(variable.shape):
            torch_shape = to_keras(np.zeros(variable.shape)).shape  # both transforms are their own inverse
            raise CheckpointError(
                f"{network}'s {name} has shape {tuple(state_dict[name].shape)}, the network its other tensors "
                f"describe needs {tuple(torch_shape)}"
            )
        values.append(value)
    for (variable, _, _), value in zip(assignments, values):
        variable.assign(value)


def _listed(names: list[str], shown: int = 4) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _identity(array: np.ndarray) -> np.ndarray:
    return array


def _conv_kernel(array: np.ndarray) -> np.ndarray:
    """OIHW → HWIO; on the reversed axes order the same transpose maps HWIO back to OIHW."""
    return array.transpose(2, 3, 1, 0)


def _linear_kernel(array: np.ndarray) -> np.ndarray:
    """(out, in) → (in, out)."""
    return array.T


def _conv(layer, prefix: str) -> Iterator[Assignment]:
    yield layer.kernel, f"{prefix}.weight", _conv_kernel
    if layer.use_bias:
        yield layer.bias, f"{prefix}.bias", _identity


def _dense(layer, prefix: str) -> list[Assignment]:
    return [(layer.kernel, f"{prefix}.weight", _linear_kernel), (layer.bias, f"{prefix}.bias", _identity)]


def _instance_norm(layer, prefix: str) -> list[Assignment]:
    return [(layer.gamma, f"{prefix}.weight", _identity), (layer.beta, f"{prefix}.bias", _identity)]


def _res_block(block, prefix: str) -> list[Assignment]:
    assignments = [*_conv(block.conv1, f"{prefix}.conv1"), *_conv(block.conv2, f"{prefix}.conv2")]
    if block.normalize:
        assignments += _instance_norm(block.norm1, f"{prefix}.norm1") + _instance_norm(block.norm2, f"{prefix}.norm2")
    if block.learned_shortcut:
        assignments += _conv(block.conv1x1, f"{prefix}.conv1x1")
    return assignments


def _adain_res_block(block, prefix: str) -> list[Assignment]:
    assignments = [*_conv(block.conv1, f"{prefix}.conv1"), *_conv(block.conv2, f"{prefix}.conv2")]
    assignments += _dense(block.norm1.fc, f"{prefix}.norm1.fc") + _dense(block.norm2.fc, f"{prefix}.norm2.fc")
    if block.learned_shortcut:
        assignments += _conv(block.conv1x1, f"{prefix}.conv1x1")
    return assignments


def _trunk(model: keras.Model, sequential: str) -> list[Assignment]:
    """The style encoder's `shared` / discriminator's `main` Sequential: conv 0, ResBlks 1..R, LReLU R+1,
    conv 4x4 R+2."""
    blocks = _numbered_layers(model, "block")
    assignments = [*_conv(model.get_layer("from_rgb"), f"{sequential}.0")]
    for index, block in enumerate(blocks):
        assignments += _res_block(block, f"{sequential}.{index + 1}")
    assignments += _conv(model.get_layer("conv_4x4"), f"{sequential}.{len(blocks) + 2}")
    return assignments


def _numbered_layers(model: keras.Model, stem: str) -> list:
    numbered = {}
    for layer in model.layers:
        match = re.fullmatch(rf"{stem}_(\d+)", layer.name)
        if match:
            numbered[int(match[1])] = layer
    return [numbered[index] for index in sorted(numbered)]


def _indices(state_dict: Mapping[str, np.ndarray], stem: str) -> list[int]:
    """The distinct i of `<stem>.<i>.` names."""
    return sorted({int(match[1]) for name in state_dict if (match := re.match(rf"{stem}\.(\d+)\.", name))})


def _array(state_dict: Mapping[str, np.ndarray], name: str, network: str) -> np.ndarray:
    if name not in state_dict:
        raise CheckpointError(f"{network} has no {name}")
    return state_dict[name]


def _without_data_parallel_prefix(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if state and all(name.startswith(DATA_PARALLEL_PREFIX) for name in state):
        return {name[len(DATA_PARALLEL_PREFIX) :]: value for name, value in state.items()}
    return state


def convert_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> int:
    """The CLI's work; its exit code. A checkpoint that does not fit is one line on stderr."""
    domains = [name.strip() for name in flag_values.domains if name.strip()]
    if len(set(domains)) != len(domains):
        print(f"error: --domains repeats a name: {','.join(domains)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        layout = convert_checkpoint(
            flag_values.checkpoint, flag_values.out, domains, flag_values.wing, flag_values.image_size
        )
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_CHECKPOINT
    config = layout.read_config()
    settings = ", ".join(f"{key} {config[key]:g}" for key in ("image_size", "num_domains", "style_dim", "w_hpf"))
    written = ", ".join(path.name for path in sorted(layout.export_dir.glob("*.keras")))
    print(
        f"converted {flag_values.checkpoint} ({settings}; domains {','.join(domains)}) to {layout.run_dir}: {written}"
    )
    return 0


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(convert_from_flags(flags.FLAGS))


if __name__ == "__main__":
    define_flags()
    app.run(main)
