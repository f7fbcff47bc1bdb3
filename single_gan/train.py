"""Train the DCGAN that draws cartoon faces from noise (the report's §6.1).

usage: python -m single_gan.train [--recipe exp1|exp2|exp3] [flags]

Defaults are the report's setting: 100 epochs of a 10k Cartoon Set at batch
128 (78 steps), noise 100, Adam betas (0.5, 0.999), on the built-in synthetic
cartoons. Its three experiments are recipes:

  exp1  lr 2e-4, images left in [0, 255] (the discriminator wins, the samples go black)
  exp2  lr 1e-3 (learns faster, then diverges)
  exp3  lr 2e-4, images normalised to [-1, 1] (the report's best; the default)

A flag given on the command line (--learning_rate, --normalize) overrides the
recipe's value; the run's config records what it used. On a real Cartoon Set:

  python -m single_gan.train --source=cartoonset:data/cartoonset10k --crop=center

Everything the run writes goes to --run_dir; rerun with the same --run_dir to
resume. --help shows this module's own flags; --helpfull adds the data flags
(--source, --crop, --augment) and the shared training flags.
"""

from __future__ import annotations

from absl import app, flags

from preprocessing import data_flags
from single_gan import networks
from single_gan.hyperparameters import RENAMED, DCGANHyperparameters
from single_gan.model import fixed_noise
from single_gan.registration import MODEL
from training import fit, hyperparameters, run
from training import flags as training_flags

DATA_FLAGS = [*data_flags.domain_flag_names(""), data_flags.TFDS_DATA_DIR]  # --source, --crop, ...
RECIPES = {
    "exp1": {"learning_rate": 2e-4, "normalize": False},
    "exp2": {"learning_rate": 1e-3, "normalize": True},
    "exp3": {"learning_rate": 2e-4, "normalize": True},
}


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests can parse into a fresh FlagValues)."""
    data_flags.define_domain_flags({"": ("synthetic:cartoon", "the training images (cartoon faces)")}, flag_values)
    flags.DEFINE_enum(
        "recipe",
        "exp3",
        list(RECIPES),
        "The report's experiment to run: exp1 (lr 2e-4, images in [0, 255]), exp2 (lr 1e-3), exp3 (lr 2e-4, "
        "images in [-1, 1]). Sets --learning_rate and --normalize unless they are given.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "normalize",
        True,
        "Map the training images to [-1, 1], the range of the generator's tanh; --nonormalize feeds them in "
        "[0, 255] as experiment 1 did. Default: the recipe's.",
        flag_values=flag_values,
    )
    DCGANHyperparameters.define_flags(flag_values)
    training_flags.define_common_flags(
        flag_values,
        # The report's: 100 epochs of the 10k Cartoon Set (78 batches of 128), Adam 2e-4, betas (0.5, 0.999).
        epochs=100,
        steps_per_epoch=78,
        batch_size=128,
        learning_rate=2e-4,
        beta_1=0.5,
        beta_2=0.999,
        # benchmarks/train_step.py on one CPU core: 18.0 images/s with and without XLA, so no compile time for it.
        jit_compile=False,
        log_every_n_steps=20,
        num_grid_samples=64,
    )
    hyperparameters.define_renamed_flags(RENAMED, flag_values)


FLAGS = flags.FLAGS


def resolve_config(flag_values: flags.FlagValues) -> dict:
    """The parsed flags as a config, with the recipe's values for the flags not given."""
    names = ["recipe", "normalize", *DCGANHyperparameters.flag_names(), *DATA_FLAGS]
    config = training_flags.config_from_flags(MODEL.name, names, flag_values)
    return training_flags.apply_recipe(config, RECIPES[config["recipe"]], flag_values)


def build_dataset(config: dict):
    """Batches of training images at 64x64: in [-1, 1], or in [0, 255] without `normalize`."""
    return data_flags.load_domain_from_config(config, "", networks.IMAGE_SHAPE[0], normalize=config["normalize"])


def train(config: dict) -> dict:
    """Sets up the run, trains and exports (see `training.fit.fit`); returns the run's history."""
    current = run.setup_run(MODEL.name, config)
    dataset = build_dataset(config)
    model = fit.build_and_compile(current, config, lambda: MODEL.build(config))
    grid_noise = fixed_noise(config["num_grid_samples"], config["noise_dim"], config["seed"])
    return fit.fit(model, dataset, current, config, (grid_noise,))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with fit.one_line_failures():
        train(resolve_config(FLAGS))


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
