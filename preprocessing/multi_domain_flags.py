"""The command-line flags of a train CLI whose model translates between any number of named domains.

    multi_domain_flags.define_flags({"photo": "synthetic:photo:2048", "cartoon": "synthetic:cartoon:2048"},
                                    flag_values, augment_default="random_resized_crop,flip", white=("photo",))
    ...
    config.update(multi_domain_flags.config_from_flags(flag_values))
    batches = multi_domain_flags.load_reference_batches(config, image_size=64)

defines `--domains=name=spec,...` (a domain's id is its index), `--dataset_dir`
(one subfolder per domain, which replaces --domains), `--white_background`
(the domains whose background is painted white), and `--crop`, `--augment`,
`--load_size`, `--tfds_data_dir`, which every domain shares. The config
records "domains" (the names, in id order), "num_domains" and "domain_sources".
"""

from __future__ import annotations

from absl import flags

from preprocessing import data_flags
from preprocessing.multi_domain import folder_domains, parse_domain_list, reference_batches
from preprocessing.pipeline import load_domain
from preprocessing.sources import SPEC_HELP

DOMAINS, DATASET_DIR, WHITE_BACKGROUND = "domains", "dataset_dir", "white_background"
# The preparation every domain shares: data_flags' flags of the unnamed domain, --crop, --augment, --load_size.
SHARED = ""
_, CROP, _, AUGMENT, LOAD_SIZE = data_flags.domain_flag_names(SHARED)
PREPARATION_FLAGS = [CROP, AUGMENT, LOAD_SIZE, data_flags.TFDS_DATA_DIR]
FLAG_NAMES = [DOMAINS, DATASET_DIR, WHITE_BACKGROUND, *PREPARATION_FLAGS]


def _check_domain_list(text: str) -> bool:
    try:
        parse_domain_list(text)
    except ValueError as error:
        raise flags.ValidationError(str(error)) from None
    return True


def define_flags(
    default_domains: dict[str, str],
    flag_values: flags.FlagValues = flags.FLAGS,
    augment_default: str = "",
    white: tuple[str, ...] = (),
) -> None:
    """The flags of the module docstring; `default_domains` {name: source spec}, `white` the default
    --white_background."""
    flags.DEFINE_string(
        DOMAINS,
        ",".join(f"{name}={spec}" for name, spec in default_domains.items()),
        f"The domains, NAME=SOURCE_SPEC, comma-separated, at least two; a domain's id is its place in this list. "
        f"Sources: {SPEC_HELP}.",
        flag_values=flag_values,
    )
    flags.register_validator(DOMAINS, _check_domain_list, flag_values=flag_values)
    flags.DEFINE_string(
        DATASET_DIR,
        "",
        "A folder with one subfolder of images per domain (the official train/female, train/male layout): the "
        "domains are its subfolders, sorted by name; in place of --domains.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        WHITE_BACKGROUND,
        list(white),
        "Domains whose background is painted white (outside the subject: with the source's masks, as "
        "synthetic:photo has them, or MediaPipe's person segmenter for sources without them). The default names "
        "the built-in photos; it leaves out domains --domains or --dataset_dir does not have.",
        flag_values=flag_values,
    )
    data_flags.define_preparation_flags(SHARED, "every domain's images", flag_values, augment_default)
    data_flags.define_tfds_data_dir_flag(flag_values)


def config_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """{"domains": names, "num_domains", "domain_sources": specs, "dataset_dir", "white_background": names,
    "crop", "augment", "load_size", "tfds_data_dir"}; a bad --dataset_dir or --white_background ends the CLI
    in one line naming the flag."""
    dataset_dir = flag_values[DATASET_DIR].value
    if dataset_dir and flag_values[DOMAINS].present:
        data_flags.exit_with_usage_error(f"--{DOMAINS} and --{DATASET_DIR} both name the domains; give one")
    if dataset_dir:
        try:
            domains = folder_domains(dataset_dir)
        except ValueError as error:
            data_flags.exit_with_usage_error(f"--{DATASET_DIR}={dataset_dir}: {error}")
    else:
        domains = parse_domain_list(flag_values[DOMAINS].value)
    names = [name for name, _ in domains]
    white = flag_values[WHITE_BACKGROUND].value
    unknown = [name for name in white if name not in names]
    if unknown and flag_values[WHITE_BACKGROUND].present:
        data_flags.exit_with_usage_error(
            f"--{WHITE_BACKGROUND}: no domain named {', '.join(unknown)}; the domains are {', '.join(names)}"
        )
    return {
        DOMAINS: names,
        "num_domains": len(names),
        "domain_sources": [spec for _, spec in domains],
        DATASET_DIR: dataset_dir,
        WHITE_BACKGROUND: [name for name in white if name in names],
        **{name: flag_values[name].value for name in PREPARATION_FLAGS},
    }


def load_reference_batches(config: dict, image_size: int):
    """`multi_domain.reference_batches` of the config's domains at `image_size`, batch `config["batch_size"]`.

    A source that cannot be read ends the CLI with one line naming the flag and the domain.
    """
    problem = data_flags.load_size_problem(config, SHARED, image_size)
    if problem:
        data_flags.exit_with_usage_error(problem)
    flag = DATASET_DIR if config[DATASET_DIR] else DOMAINS
    images = []
    for domain, (name, spec) in enumerate(zip(config[DOMAINS], config["domain_sources"])):
        try:
            batches = load_domain(
                spec,
                image_size=image_size,
                batch_size=config["batch_size"],
                crop=config[CROP],
                background="white" if name in config[WHITE_BACKGROUND] else "keep",
                augment=config[AUGMENT],
                load_size=config[LOAD_SIZE],
                seed=config["seed"] + domain,
                tfds_data_dir=config[data_flags.TFDS_DATA_DIR],
            )
        except ValueError as error:  # SourceError, or e.g. a white background for a source without masks
            data_flags.exit_with_usage_error(f"--{flag}: domain {name} ({spec}): {error}")
        images.append(batches.unbatch())
    return reference_batches(images, config["batch_size"], config["seed"])
