"""Command-line flags that pick and prepare a model's data domains, shared by every `*.train` CLI.

    data_flags.define_domain_flags({"face": ("synthetic:photo", "the face (photo) domain")})
    ...
    faces = data_flags.load_domain_from_config(config, "face", image_size=64)

defines `--face_source`, `--face_crop`, `--face_background`, `--face_augment`
(and `--tfds_data_dir` once) and loads the domain they describe. A third
element in a domain's tuple is the default of its `--*_background` ("keep"
otherwise). A model with a single domain names it
`""`: its flags are then plain `--source`, `--crop`, `--augment`.
"""

from __future__ import annotations

import sys

from absl import flags

from preprocessing.folder_job import EXIT_USAGE
from preprocessing.pipeline import AUGMENTATIONS, BACKGROUNDS, CROPS, load_domain
from preprocessing.sources import SPEC_HELP

TFDS_DATA_DIR = "tfds_data_dir"


def domain_flag_names(domain: str) -> list[str]:
    """[<domain>_source, _crop, _background, _augment]; [source, crop, background, augment] for the domain ""."""
    prefix = f"{domain}_" if domain else ""
    return [f"{prefix}source", f"{prefix}crop", f"{prefix}background", f"{prefix}augment"]


def define_domain_flags(domains: dict, flag_values: flags.FlagValues = flags.FLAGS) -> list[str]:
    """`domains`: {name: (default source spec, description[, default background])}; returns every flag name."""
    for domain, (default_source, description, *background_default) in domains.items():
        source, crop, background, augment = domain_flag_names(domain)
        flags.DEFINE_string(source, default_source, f"Source of {description}: {SPEC_HELP}.", flag_values=flag_values)
        flags.DEFINE_enum(
            crop,
            "none",
            CROPS,
            f"Crop of {description} before resizing: none; center (the report's 83->64 centre crop, "
            "for Cartoon Set images); bbox (a square around the non-white pixels).",
            flag_values=flag_values,
        )
        flags.DEFINE_enum(
            background,
            background_default[0] if background_default else "keep",
            BACKGROUNDS,
            f"Background of {description}: keep, or white (paint everything outside the subject white with the "
            "source's foreground masks, as the report removed the background of its faces; synthetic:photo has "
            "masks, real photos need `python -m preprocessing.remove_background` and keep).",
            flag_values=flag_values,
        )
        flags.DEFINE_string(
            augment,
            "",
            f"Augmentations of {description}, comma-separated from {', '.join(AUGMENTATIONS)} "
            "(rotate/shift fight the non-frontal-face failure the report describes).",
            flag_values=flag_values,
        )
    flags.DEFINE_string(
        TFDS_DATA_DIR,
        None,
        "Where TensorFlow Datasets keeps prepared data (default ~/tensorflow_datasets); "
        "point it at a copied directory on machines without network access.",
        flag_values=flag_values,
    )
    return [name for domain in domains for name in domain_flag_names(domain)] + [TFDS_DATA_DIR]


def load_domain_from_config(config: dict, domain: str, image_size: int, seed_offset: int = 0, **kwargs):
    """The batched, endless domain the config's `<domain>_*` flags describe.

    A source that cannot be read, or cannot take the options asked for, ends the CLI with a one-line
    "error: --<domain>_source=...: why" and exit code 2.
    """
    source, crop, background, augment = domain_flag_names(domain)
    try:
        return load_domain(
            config[source],
            image_size=image_size,
            batch_size=config["batch_size"],
            crop=config[crop],
            background=config[background],
            augment=config[augment],
            seed=config["seed"] + seed_offset,
            tfds_data_dir=config[TFDS_DATA_DIR],
            **kwargs,
        )
    except ValueError as error:  # SourceError, or e.g. a white background for a source without masks
        print(f"error: --{source}={config[source]}: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from error
