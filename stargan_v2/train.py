"""Train StarGAN v2 (Choi et al. 2020) on two or more image domains.

usage: python -m stargan_v2.train [flags]

By default, the official recipe (clovaai/stargan-v2 main.py and
core/solver.py, the AFHQ setting): 256 px, widths up to 512, no high-pass
filter (--w_hpf=1 is the CelebA-HQ setting, with the FAN's masks), λ_reg =
λ_sty = λ_cyc = λ_ds = 1 with λ_ds decayed to 0 over 100K iterations, Adam
1e-4 for G, E and D and 1e-6 for the mapping network F (--mapping_learning_rate),
β (0, 0.99), weight decay 1e-4 added to the gradient (PyTorch's Adam), batches of
8, a moving average of G, F and E (β 0.999) that the grids and exports use,
and 100K iterations (100 epochs of 1000 steps); each image randomly cropped
(0.8-1 of its area, aspect 0.9-1.1) with probability 0.5, resized, flipped.
Each step's sources are drawn evenly from every domain, and its two
references from one domain, the target, also drawn evenly (the official
balanced samplers). On real data, on a GPU:

  python -m stargan_v2.train --dataset_dir=data/afhq/train

The domains are the built-in photos (on white) and cartoons, unless
--domains=name=spec,... or --dataset_dir (one subfolder per domain, the
official data/afhq/train/{cat,dog,wild} layout) names others; the run config
records their names, in id order. --dry_run prints each network's parameter
count and the estimated training memory, and exits before building anything.
Everything the run writes goes to --run_dir; rerun with the same --run_dir
to resume (λ_ds continues its decay). --helpfull adds the shared training flags.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from absl import app, flags

from preprocessing import data_flags, multi_domain_flags
from stargan_v2 import memory, wing
from stargan_v2.hyperparameters import StarGANv2Hyperparameters
from stargan_v2.registration import MODEL
from training import fit, run
from training import flags as training_flags

DEFAULT_DOMAINS = {"photo": "synthetic:photo:2048", "cartoon": "synthetic:cartoon:2048"}
# The domain count follows the domains (--domains, --dataset_dir), not a flag of its own.
HYPERPARAMETER_FLAGS = [name for name in StarGANv2Hyperparameters.flag_names() if name != "num_domains"]
MAPPING_LEARNING_RATE = "mapping_learning_rate"
FAN_FLAG = "fan"


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests and benchmarks can parse into their own)."""
    multi_domain_flags.define_flags(
        DEFAULT_DOMAINS, flag_values, augment_default="random_resized_crop,flip", white=("photo",)
    )
    for name in multi_domain_flags.FLAG_NAMES:  # listed by --help: what the domains are is this CLI's first question
        flags.declare_key_flag(name, flag_values)
    StarGANv2Hyperparameters.define_flags(flag_values)
    flags.DEFINE_float(
        MAPPING_LEARNING_RATE,
        1e-6,
        "Learning rate of the mapping network F's optimizer (the official f_lr); G, E and D train at "
        "--learning_rate (or --g_learning_rate, --d_learning_rate).",
        lower_bound=0.0,
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        FAN_FLAG,
        "",
        "With --w_hpf=1 (required then): the pretrained FAN landmark network as `python -m stargan_v2.convert "
        "--wing=wing.ckpt` writes it (<out>/export/fan.keras). Its masks steer the generator; it is not trained, "
        "and the run's export/ gets a copy so that stargan_v2.translate finds it.",
        flag_values=flag_values,
    )
    flags.register_validator(MAPPING_LEARNING_RATE, lambda rate: rate > 0, "must be > 0", flag_values=flag_values)
    flags.DEFINE_bool(
        "dry_run",
        False,
        "Print each network's parameter count and the estimated training memory for --image_size, "
        "--max_conv_dim, --w_hpf, the domains, --batch_size and --mixed_precision, then exit without building "
        "anything.",
        flag_values=flag_values,
    )
    training_flags.define_common_flags(
        flag_values,
        batch_size=8,
        learning_rate=1e-4,
        beta_1=0.0,
        beta_2=0.99,
        weight_decay=1e-4,
        weight_decay_mode="coupled",
        ema_decay=0.999,
        epochs=100,
        steps_per_epoch=1000,
        # Off: on a CPU, XLA's convolutions are slower than oneDNN's (docs/experiments.md).
        jit_compile=False,
        log_every_n_steps=100,
    )


FLAGS = flags.FLAGS


def build_dataset(config: dict):
    """Batches (sources, source_domains, references, second_references, target_domains) at --image_size."""
    return multi_domain_flags.load_reference_batches(config, config["image_size"])


def resolve_config(flag_values: flags.FlagValues) -> dict:
    """The parsed flags as a config, with the domains' names ("domains", index = domain id) and their count."""
    names = [*HYPERPARAMETER_FLAGS, MAPPING_LEARNING_RATE, FAN_FLAG]
    config = training_flags.config_from_flags(MODEL.name, names, flag_values)
    config.update(multi_domain_flags.config_from_flags(flag_values))
    given = flag_values["num_domains"] if "num_domains" in flag_values else None
    if given is not None and given.present and given.value != config["num_domains"]:
        data_flags.exit_with_usage_error(
            f"--num_domains={given.value}, but there are {config['num_domains']} domains: "
            f"{', '.join(config['domains'])} (the count follows --domains or --dataset_dir)"
        )
    return data_flags.fill_random_crop_load_sizes(config, [multi_domain_flags.SHARED], config["image_size"])


def dry_run_report(config: dict) -> str:
    """Each network's parameter count and the estimated training memory, from the config alone."""
    estimate = memory.estimate(config)
    counts = ", ".join(f"{name} {count:,}" for name, count in estimate.network_parameters.items())
    return (
        f"StarGAN v2, {config['image_size']} px, max_conv_dim {config['max_conv_dim']}, w_hpf {config['w_hpf']}, "
        f"{config['num_domains']} domains ({', '.join(config['domains'])}), batch {config['batch_size']}, "
        f"policy {config['mixed_precision']}, {_recomputed(config['rematerialize_size'])}: {counts}; "
        f"{estimate.describe()}"
    )


def _recomputed(rematerialize_size: int) -> str:
    if not rematerialize_size:
        return "every generator map kept"
    return f"generator maps of {rematerialize_size} px and more recomputed"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = resolve_config(FLAGS)
    if FLAGS.dry_run:
        print(dry_run_report(config))
        return
    if config["w_hpf"]:
        check_fan(config)
        config["run_dir"] = config["run_dir"] or str(run.default_run_dir(MODEL.name))
    fit.train_from_config(MODEL, config, build_dataset)
    if config["w_hpf"]:
        shutil.copyfile(config[FAN_FLAG], run.RunLayout(Path(config["run_dir"])).export_path(wing.FAN_EXPORT))


def check_fan(config: dict) -> None:
    """A w_hpf = 1 run's --fan must name a file: a FAN with random weights would give the generator noise for
    masks, and the run would look like any other."""
    if not Path(config[FAN_FLAG]).is_file():
        data_flags.exit_with_usage_error(
            f"--w_hpf=1 needs --fan=<fan.keras> (from `python -m stargan_v2.convert --wing=wing.ckpt`), "
            f"got {config[FAN_FLAG] or 'none'!r}: the generator's masks come from that pretrained landmark network"
        )


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
