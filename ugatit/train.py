"""Train U-GAT-IT faces <-> cartoons (Kim et al. 2020), optionally with the facial-keypoint loss of the U-GAT-IT report.

usage: python -m ugatit.train [flags]

By default, the reference's recipe (znxlwm/UGATIT-pytorch): full-mode
generators at 256 px (--light for the light ones), global and local
discriminators per domain, λ1..λ4 = 1, 10, 10, 1000, Adam 1e-4 (β 0.5, 0.999)
with coupled weight decay 1e-4 on batches of 1, constant for the first half
of the run then linear to 0, images loaded at 286/256 of --image_size,
randomly cropped and flipped. On real data, on a GPU:

  python -m ugatit.train --face_source=folder:faces --cartoon_source=folder:anime --image_size=256 --light

--keypoint_loss=m1|m2|m3 adds the report's keypoint loss on the faces'
reconstructions (the face source needs landmarks: the built-in photos have
them, a folder gets them from the annotations.csv `preprocessing.crop_faces`
writes); the predictor is pre-trained in stages (--keypoint_pretrain_epochs
before each block of --keypoint_block_steps steps), and crop and flip are
turned off unless --keypoint_augment keeps them (the pipeline moves the
landmarks with them). Full mode sets --malloc_mmap_threshold_mb to 1 unless
it is given (light mode leaves it at 0, off). --dry_run prints the parameter
count and the estimated training memory, and exits. Everything the run
writes goes to --run_dir; rerun with the same --run_dir to resume.
--helpfull adds the data flags and the shared training flags.
"""

from __future__ import annotations

from absl import app, flags

from preprocessing import data_flags
from preprocessing.pipeline import unpaired
from training import fit
from training import flags as training_flags
from ugatit import memory
from ugatit.hyperparameters import UGATITHyperparameters
from ugatit.model import KEYPOINT_METHODS
from ugatit.registration import MODEL

DOMAINS = {
    "face": ("synthetic:photo:2048", "the face domain (A, translated to cartoons by genA2B)"),
    "cartoon": ("synthetic:cartoon:2048", "the cartoon domain (B, translated to faces by genB2A)"),
}
DATA_FLAGS = [*(name for domain in DOMAINS for name in data_flags.domain_flag_names(domain)), data_flags.TFDS_DATA_DIR]
KEYPOINT_FLAGS = ["keypoint_loss", "keypoint_pretrain_epochs", "keypoint_block_steps", "keypoint_augment"]


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests and benchmarks can parse into their own)."""
    data_flags.define_domain_flags(DOMAINS, flag_values, augment_default="flip,random_crop")
    UGATITHyperparameters.define_flags(flag_values)
    flags.DEFINE_enum(
        "keypoint_loss",
        "off",
        KEYPOINT_METHODS,
        "The report's keypoint loss on the faces' reconstructions: off; m1 (weighted by --cycle_weight); m2 "
        "(weighted by --adversarial_weight, the report's best); m3 (its own Adam step on genA2B alone).",
        flag_values=flag_values,
    )
    training_flags.define_int_list(
        "keypoint_pretrain_epochs",
        [3, 20, 40, 20],
        "With --keypoint_loss: epochs (passes over the face source) the keypoint predictor trains before each "
        "block of --keypoint_block_steps generator steps; frozen in between and after.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "keypoint_block_steps",
        10_000,
        "With --keypoint_loss: generator steps between the predictor's pre-training stages.",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "keypoint_augment",
        False,
        "With --keypoint_loss: keep the data augmentation (the landmarks move with the crops and flips); the "
        "report turned it off.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "dry_run",
        False,
        "Print the parameter count and the estimated training memory for --light, --image_size, --filters, "
        "--batch_size and --mixed_precision, then exit without building anything.",
        flag_values=flag_values,
    )
    training_flags.define_common_flags(
        flag_values,
        batch_size=1,
        learning_rate=1e-4,
        beta_1=0.5,
        beta_2=0.999,
        weight_decay=1e-4,
        weight_decay_mode="coupled",
        epochs=100,
        steps_per_epoch=10_000,
        lr_schedule="linear_decay",
        # Off: on a CPU, XLA's convolutions are slower than oneDNN's (docs/experiments.md).
        jit_compile=False,
        log_every_n_steps=100,
    )


FLAGS = flags.FLAGS


def build_dataset(config: dict):
    """Unpaired (faces, cartoons) batches at --image_size; with a keypoint loss, (faces, cartoons, landmarks)."""
    size = config["image_size"]
    cartoons = data_flags.load_domain_from_config(config, "cartoon", size, seed_offset=1)
    if config["keypoint_loss"] == "off":
        return unpaired(data_flags.load_domain_from_config(config, "face", size), cartoons)
    faces = data_flags.load_domain_from_config(config, "face", size, with_metadata=True)
    if "landmarks" not in faces.element_spec:
        data_flags.exit_with_usage_error(
            f"--face_source={config['face_source']}: has no landmarks, which --keypoint_loss needs (the built-in "
            "photos have them; for a folder, preprocessing.crop_faces writes them to its annotations.csv)"
        )
    return unpaired(faces, cartoons).map(lambda face, cartoon: (face["image"], cartoon, face["landmarks"]))


def resolve_config(flag_values: flags.FlagValues) -> dict:
    """The parsed flags as a config; full mode's malloc mmap threshold unless given; with a keypoint loss and no
    --keypoint_augment, no augmentation."""
    names = [*UGATITHyperparameters.flag_names(), *KEYPOINT_FLAGS, *DATA_FLAGS]
    config = training_flags.config_from_flags(MODEL.name, names, flag_values)
    if not config["light"]:
        config = training_flags.apply_recipe(config, memory.FULL_MODE_RECIPE, flag_values)
    if config["keypoint_loss"] != "off" and not config["keypoint_augment"]:
        config.update({f"{domain}_augment": "" for domain in DOMAINS})
    return data_flags.fill_random_crop_load_sizes(config, DOMAINS, config["image_size"])


def dry_run_report(config: dict) -> str:
    estimate = memory.estimate(
        config["image_size"],
        config["light"],
        config["filters"],
        config["batch_size"],
        config["mixed_precision"],
    )
    mode = "light" if config["light"] else "full"
    return (
        f"U-GAT-IT {mode}, {config['image_size']} px, filters {config['filters']}, batch {config['batch_size']}, "
        f"policy {config['mixed_precision']}: {estimate.describe()}"
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    config = resolve_config(FLAGS)
    if FLAGS.dry_run:
        print(dry_run_report(config))
        return
    fit.train_from_config(MODEL, config, build_dataset)


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
