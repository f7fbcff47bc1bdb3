"""The command-line flags every `<model>.train` CLI shares, and the config dict they become.

A model package's `train.py` defines its own flags, then

    define_common_flags(batch_size=16, learning_rate=2e-4, beta_1=0.5, jit_compile=True)

with its own measured or published defaults, and after parsing turns both into
one plain, JSON-serialisable dict with `config_from_flags("xgan", ["gan_weight", ...])`.
A model with named settings (the report's experiments, say) resolves them with
`apply_preset`, so flags given on the command line still win.
"""

from __future__ import annotations

from absl import flags

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
MIXED_PRECISION_POLICIES = ("off", "mixed_float16", "mixed_bfloat16")
LR_SCHEDULES = ("constant", "linear_decay", "cosine", "cyclic")
OPTIMIZERS = ("adam", "sgd")


# {flag name: (absl DEFINE function, default, help, extra keyword arguments)}
_DEFINITIONS = {
    # What to train for.
    "epochs": (flags.DEFINE_integer, 100, "Number of epochs to train for.", {"lower_bound": 1}),
    "steps_per_epoch": (
        flags.DEFINE_integer,
        1000,
        "Training steps (batches) per epoch; the datasets repeat endlessly, so this defines an epoch.",
        {"lower_bound": 1},
    ),
    "batch_size": (flags.DEFINE_integer, 16, "Global batch size, split over the replicas.", {"lower_bound": 1}),
    "seed": (flags.DEFINE_integer, 0, "Seed of Python, NumPy, TensorFlow and Keras random generators.", {}),
    # Where and how to run.
    "run_dir": (
        flags.DEFINE_string,
        "",
        "Directory for every output of the run (config, TensorBoard logs, checkpoints, image grids, "
        "exported generators). Empty: runs/<model>/<YYYYmmdd-HHMMSS>. Rerunning with the same "
        "directory resumes the run where it stopped.",
        {},
    ),
    "strategy": (
        flags.DEFINE_enum,
        "default",
        "tf.distribute strategy: default (one device), mirrored (all local GPUs), "
        "multi_worker (several machines, TF_CONFIG), tpu (a Cloud TPU).",
        {"enum_values": STRATEGIES},
    ),
    "mixed_precision": (
        flags.DEFINE_enum,
        "off",
        "Keras dtype policy: off (float32), mixed_float16 (GPU; losses are scaled), mixed_bfloat16 (TPU/CPU).",
        {"enum_values": MIXED_PRECISION_POLICIES},
    ),
    "jit_compile": (flags.DEFINE_bool, False, "Compile the train step with XLA.", {}),
    # Optimisation.
    "learning_rate": (flags.DEFINE_float, 2e-4, "Initial (peak, for cyclic) learning rate of every optimizer.", {}),
    "lr_schedule": (
        flags.DEFINE_enum,
        "constant",
        "Learning-rate schedule: constant; linear_decay (constant until --decay_start_epoch, then linear "
        "to 0 at the last step); cosine (cosine decay to --min_learning_rate over the run); cyclic "
        "(triangular between --min_learning_rate and --learning_rate every --cyclic_period_epochs).",
        {"enum_values": LR_SCHEDULES},
    ),
    "decay_start_epoch": (
        flags.DEFINE_integer,
        None,
        "linear_decay: epochs at the constant rate before the linear decay (CycleGAN: 100 of 200). "
        "Default: half of --epochs.",
        {"lower_bound": 0},
    ),
    "cyclic_period_epochs": (
        flags.DEFINE_float,
        4.0,
        "cyclic: epochs from one minimum of the triangle to the next.",
        {"lower_bound": 0.0},
    ),
    "min_learning_rate": (
        flags.DEFINE_float,
        0.0,
        "Lowest learning rate of the cyclic triangle; final rate of the cosine decay.",
        {"lower_bound": 0.0},
    ),
    "optimizer": (flags.DEFINE_enum, "adam", "Optimizer of every player.", {"enum_values": OPTIMIZERS}),
    "beta_1": (flags.DEFINE_float, 0.9, "Adam's beta_1 (GANs usually 0.5).", {}),
    "beta_2": (flags.DEFINE_float, 0.999, "Adam's beta_2.", {}),
    "momentum": (flags.DEFINE_float, 0.9, "SGD's momentum.", {"lower_bound": 0.0}),
    "weight_decay": (
        flags.DEFINE_float,
        0.0,
        "Decoupled weight decay (0: none); with --optimizer=adam this selects AdamW.",
        {"lower_bound": 0.0},
    ),
    # Outputs.
    "log_every_n_steps": (
        flags.DEFINE_integer,
        100,
        "Write the losses to TensorBoard every N steps (batch_* scalars), besides once per epoch (epoch_*).",
        {"lower_bound": 1},
    ),
    "image_every_n_epochs": (
        flags.DEFINE_integer,
        1,
        "Save an image grid of the fixed samples every N epochs (and after the last).",
        {"lower_bound": 1},
    ),
    "num_grid_samples": (flags.DEFINE_integer, 8, "Fixed samples (columns) in the image grids.", {"lower_bound": 1}),
    "checkpoint_every_n_steps": (
        flags.DEFINE_integer,
        0,
        "Back up the training state every N steps, besides at every epoch end (0: at epoch ends only).",
        {"lower_bound": 0},
    ),
}


COMMON_FLAG_NAMES = tuple(_DEFINITIONS)


def define_common_flags(flag_values: flags.FlagValues = flags.FLAGS, **defaults) -> None:
    """Defines the common flags in `flag_values`, with a model's own `defaults` (flag name -> value)."""
    unknown = sorted(set(defaults) - set(_DEFINITIONS))
    if unknown:
        raise TypeError(f"no common flag named {', '.join(unknown)}; the common flags are {', '.join(_DEFINITIONS)}")
    for name, (define, default, help_text, extra) in _DEFINITIONS.items():
        define(name, defaults.get(name, default), help=help_text, flag_values=flag_values, **extra)


def config_from_flags(model_name: str, extra_flag_names=(), flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """{"model": model_name, common flags..., extra flags...}: the parsed values, a plain dict.

    Defaults that depend on other flags are resolved here, so the config
    (and the config the run saves) says what the run really used.
    """
    config = {"model": model_name}
    for name in (*COMMON_FLAG_NAMES, *extra_flag_names):
        config[name] = flag_values[name].value
    if config["decay_start_epoch"] is None:
        config["decay_start_epoch"] = config["epochs"] // 2
    return config


def apply_preset(config: dict, preset: dict, flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """`config` with `preset`'s values ({flag name: value}) for every flag not given on the command line."""
    return {**config, **{name: value for name, value in preset.items() if not flag_values[name].present}}


class _IntListParser(flags.ListParser):
    """ "256,128,64" -> [256, 128, 64]; every entry a positive integer."""

    def parse(self, argument):
        values = argument if isinstance(argument, list) else super().parse(argument)
        try:
            numbers = [int(value) for value in values]
        except ValueError as error:
            raise ValueError(f"expected comma-separated integers, got {argument!r}") from error
        if not numbers or min(numbers) < 1:
            raise ValueError(f"expected one or more positive integers, got {argument!r}")
        return numbers


def define_int_list(name: str, default, help: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """A flag `--name=256,128,64` whose value is a list of positive ints (e.g. layer widths)."""
    flags.DEFINE(
        _IntListParser(), name, list(default), help, flag_values=flag_values, serializer=flags.CsvListSerializer(",")
    )
