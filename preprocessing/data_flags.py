"""Command-line flags that pick and prepare a model's data domains, shared by every `*.train` CLI.

    data_flags.define_domain_flags({"face": ("synthetic:photo", "the face (photo) domain")})
    ...
    faces = data_flags.load_domain_from_config(config, "face", image_size=64)

defines `--face_source`, `--face_crop`, `--face_background`, `--face_augment`,
`--face_load_size` (and `--tfds_data_dir` once) and loads the domain they
describe. A third element in a domain's tuple is the default of its
`--*_background` ("keep" otherwise). A model with a single domain names it
`""`: its flags are then plain `--source`, `--crop`, `--augment`, `--load_size`.
"""

from __future__ import annotations

import sys

from absl import flags

from preprocessing.folder_job import EXIT_USAGE
from preprocessing.pipeline import AUGMENTATIONS, BACKGROUNDS, CROPS, load_domain
from preprocessing.sources import SPEC_HELP

TFDS_DATA_DIR = "tfds_data_dir"


def domain_flag_names(domain: str) -> list[str]:
    """[<domain>_source, _crop, _background, _augment, _load_size]; unprefixed for the domain ""."""
    prefix = f"{domain}_" if domain else ""
    return [f"{prefix}{name}" for name in ("source", "crop", "background", "augment", "load_size")]


def define_domain_flags(
    domains: dict, flag_values: flags.FlagValues = flags.FLAGS, augment_default: str = ""
) -> list[str]:
    """`domains`: {name: (default source spec, description[, default background])}; returns every flag name.

    `augment_default` is every domain's default `--*_augment` (CycleGAN's "flip,random_crop").
    """
    for domain, (default_source, description, *background_default) in domains.items():
        source, _, background, _, _ = domain_flag_names(domain)
        flags.DEFINE_string(source, default_source, f"Source of {description}: {SPEC_HELP}.", flag_values=flag_values)
        flags.DEFINE_enum(
            background,
            background_default[0] if background_default else "keep",
            BACKGROUNDS,
            f"Background of {description}: keep, or white (paint everything outside the subject white, as the "
            "report removed the background of its faces: with the source's masks (synthetic:photo), or with "
            "MediaPipe's person segmenter, once per image before the cache, for sources without them).",
            flag_values=flag_values,
        )
        define_preparation_flags(domain, description, flag_values, augment_default)
    define_tfds_data_dir_flag(flag_values)
    return [name for domain in domains for name in domain_flag_names(domain)] + [TFDS_DATA_DIR]


def define_preparation_flags(domain: str, description: str, flag_values: flags.FlagValues, augment_default: str):
    """--<domain>_crop, --<domain>_augment and --<domain>_load_size (unprefixed for the domain "")."""
    _, crop, _, augment, load_size = domain_flag_names(domain)
    flags.DEFINE_enum(
        crop,
        "none",
        CROPS,
        f"Crop of {description} before resizing: none; center (the report's 83->64 centre crop, "
        "for Cartoon Set images); bbox (a square around the non-white pixels).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        augment,
        augment_default,
        f"Augmentations of {description}, comma-separated from {', '.join(AUGMENTATIONS)} "
        "(rotate/shift fight the non-frontal-face failure the report describes; random_resized_crop is "
        "StarGAN v2's: a window of 0.8-1 of the area, aspect 0.9-1.1, on half the images).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        load_size,
        None,
        f"Side {description} is resized to before its image-size window is taken: a random window with "
        f"--{augment}=random_crop (CycleGAN loads 286 and crops 256), the random_resized_crop window resized "
        "to the image size, else the centre one. Default: the image size (no window).",
        lower_bound=1,
        flag_values=flag_values,
    )


def define_tfds_data_dir_flag(flag_values: flags.FlagValues) -> None:
    flags.DEFINE_string(
        TFDS_DATA_DIR,
        None,
        "Where TensorFlow Datasets keeps prepared data (default ~/tensorflow_datasets); "
        "point it at a copied directory on machines without network access.",
        flag_values=flag_values,
    )


# CycleGAN and U-GAT-IT load 286 px and crop 256: the same ratio at every image size.
RANDOM_CROP_LOAD_RATIO = 286 / 256


def fill_random_crop_load_sizes(config: dict, domains, image_size: int) -> dict:
    """`config` with `<domain>_load_size` = image_size x 286/256 for each domain that random-crops without one."""
    config = dict(config)
    for domain in domains:
        _, _, _, augment, load_size = domain_flag_names(domain)
        if "random_crop" in config[augment] and config[load_size] is None:
            config[load_size] = round(image_size * RANDOM_CROP_LOAD_RATIO)
    return config


def load_domain_from_config(config: dict, domain: str, image_size: int, seed_offset: int = 0, **kwargs):
    """The batched, endless domain the config's `<domain>_*` flags describe.

    A source that cannot be read, or cannot take the options asked for, ends the CLI with a one-line
    "error: --<domain>_source=...: why" and exit code 2; a load size that does not fit the augmentations
    ends it with one naming `--<domain>_load_size`.
    """
    source, crop, background, augment, load_size = domain_flag_names(domain)
    problem = load_size_problem(config, domain, image_size)
    if problem:
        exit_with_usage_error(problem)
    try:
        return load_domain(
            config[source],
            image_size=image_size,
            batch_size=config["batch_size"],
            crop=config[crop],
            background=config[background],
            augment=config[augment],
            load_size=config[load_size],
            seed=config["seed"] + seed_offset,
            tfds_data_dir=config[TFDS_DATA_DIR],
            **kwargs,
        )
    except ValueError as error:  # SourceError, or e.g. a white background for a source without masks
        exit_with_usage_error(f"--{source}={config[source]}: {error}")


def load_size_problem(config: dict, domain: str, image_size: int) -> str | None:
    """Why the domain's `--*_load_size` cannot serve its `--*_augment` at `image_size`; None if it can."""
    _, _, _, augment, load_size = domain_flag_names(domain)
    size = config[load_size]
    if "random_crop" in config[augment] and (size is None or size <= image_size):
        given = "it is not set" if size is None else f"got {size}"
        return f"--{augment}=random_crop needs --{load_size} > the image size ({image_size}); {given}"
    if size is not None and size < image_size:
        return f"--{load_size}={size} is smaller than the image size ({image_size})"
    return None


def exit_with_usage_error(message: str):
    """Ends a CLI with "error: <message>" on stderr and the usage exit code."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)
