"""Train CycleGAN A <-> B (Zhu et al. 2017), with the experiments of the project's two CycleGAN reports.

usage: python -m cyclegan.train [flags]

By default, the reference's recipe (junyanz/pytorch-CycleGAN-and-pix2pix):
ResNet generators (9 residual blocks at 256 px and more, 6 below), 70x70
PatchGAN discriminators, LSGAN, cycle terms λ_A = λ_B = 10, identity terms
at 0.5 λ, halved discriminator losses fed from pools of 50 translations, Adam
2e-4 (β1 0.5) on batches of 1, constant for --decay_start_epoch epochs then
linear to 0, images loaded at 286/256 of --image_size, randomly cropped and
flipped. --recipe names one of the reports' variants (loss ablations and
optimisers); flags given on the command line win over it, and the run config
records both. On real data, e.g. on a GPU:

  python -m cyclegan.train --dataset_dir=horse2zebra --image_size=256

Domains A and B are the built-in photos and cartoons unless --dataset_dir
(a folder with trainA/ and trainB/, as the CycleGAN data sets ship) or
--a_source / --b_source name others. Everything the run writes goes to
--run_dir; rerun with the same --run_dir to resume. --helpfull adds the data
flags and the shared training flags.
"""

from __future__ import annotations

from absl import app, flags

from cyclegan.hyperparameters import RENAMED, RESNET_9_FROM_SIZE, CycleGANHyperparameters
from cyclegan.registration import CYCLE_LOSSES, MODEL, REFERENCE_WEIGHTS
from preprocessing import data_flags
from preprocessing.pipeline import unpaired
from training import fit, hyperparameters
from training import flags as training_flags

DOMAINS = {
    "a": ("synthetic:photo:2048", "domain A (translated to B by G_A)"),
    "b": ("synthetic:cartoon:2048", "domain B (translated to A by G_B)"),
}
DATA_FLAGS = [*(name for domain in DOMAINS for name in data_flags.domain_flag_names(domain)), data_flags.TFDS_DATA_DIR]
# The variants of the reports (seed 003: loss ablations; seed 004: optimisers and its baseline).
RECIPES = {
    "standard": {},
    "no_cycle": {"cycle_loss": "none"},
    "cycle_a_only": {"cycle_loss": "a"},
    "no_identity": {"relative_identity_weight": 0.0},
    "no_cycle_no_identity": {"cycle_loss": "none", "relative_identity_weight": 0.0},
    "sgd": {"optimizer": "sgd", "momentum": 0.9, "learning_rate": 1e-3},
    "cyclic_lr": {"lr_schedule": "cyclic"},
    "adam_l2": {"weight_decay": 1e-4, "weight_decay_mode": "coupled"},
    "anime_baseline": {"learning_rate": 1e-4, "relative_identity_weight": 0.0},
}


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests and benchmarks can parse into their own)."""
    data_flags.define_domain_flags(DOMAINS, flag_values, augment_default="flip,random_crop")
    flags.DEFINE_string(
        "dataset_dir",
        "",
        "A folder with trainA/ and trainB/ (horse2zebra, say): sets --a_source and --b_source to them.",
        flag_values=flag_values,
    )
    CycleGANHyperparameters.define_flags(flag_values, residual_blocks=None)
    flags.DEFINE_float(
        "relative_identity_weight",
        0.5,
        "λ_idt: the identity terms' weight as a multiple of the cycle weights (idt_A = λ_idt λ_B |G_A(b) - b|; 0 "
        "turns them off).",
        lower_bound=0.0,
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "cycle_loss",
        "both",
        list(CYCLE_LOSSES),
        "Which cycle terms are on: both, a (A -> B -> A only) or none.",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "recipe",
        "standard",
        list(RECIPES),
        "A variant of the reports: standard; no_cycle, cycle_a_only, no_identity, no_cycle_no_identity (loss "
        "ablations); sgd (momentum 0.9, lr 1e-3), cyclic_lr (triangular), adam_l2 (coupled weight decay 1e-4), "
        "anime_baseline (lr 1e-4, no identity). Flags given on the command line win over it.",
        flag_values=flag_values,
    )
    training_flags.define_common_flags(
        flag_values,
        batch_size=1,
        learning_rate=2e-4,
        beta_1=0.5,
        beta_2=0.999,
        epochs=200,
        steps_per_epoch=1000,
        lr_schedule="linear_decay",
        # Off: on a CPU, XLA's convolutions are slower than oneDNN's, 4x so in bfloat16 (docs/experiments.md).
        jit_compile=False,
        log_every_n_steps=100,
    )
    hyperparameters.define_renamed_flags(RENAMED, flag_values)


FLAGS = flags.FLAGS


def build_dataset(config: dict):
    """Unpaired `(a, b)` batches at --image_size."""
    a = data_flags.load_domain_from_config(config, "a", config["image_size"])
    b = data_flags.load_domain_from_config(config, "b", config["image_size"], seed_offset=1)
    return unpaired(a, b)


def resolve_config(flag_values: flags.FlagValues) -> dict:
    """The parsed flags as a config: the recipe's values for flags not given, then the derived defaults."""
    names = ["recipe", "dataset_dir", *CycleGANHyperparameters.flag_names(), *REFERENCE_WEIGHTS, *DATA_FLAGS]
    config = training_flags.config_from_flags(MODEL.name, names, flag_values)
    config = training_flags.apply_recipe(config, RECIPES[config["recipe"]], flag_values)
    if config["residual_blocks"] is None:
        config["residual_blocks"] = 9 if config["image_size"] >= RESNET_9_FROM_SIZE else 6
    if config["dataset_dir"]:
        for domain in DOMAINS:
            if not flag_values[f"{domain}_source"].present:
                config[f"{domain}_source"] = f"folder:{config['dataset_dir']}/train{domain.upper()}"
    return data_flags.fill_random_crop_load_sizes(config, DOMAINS, config["image_size"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    fit.train_from_config(MODEL, resolve_config(FLAGS), build_dataset)


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
