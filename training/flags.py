"""The command-line flags every `<model>.train` CLI shares, and the config dict they become.

A model package's `train.py` defines its own flags, then

    define_common_flags(batch_size=16, learning_rate=2e-4, beta_1=0.5, jit_compile=True)

with its own measured or published defaults, and after parsing turns both into
one plain, JSON-serialisable dict with `config_from_flags("xgan", ["adversarial_weight", ...])`.
A model with named settings (a --recipe: the report's experiments, say) resolves them with
`apply_recipe`, so flags given on the command line still win. Parsing refuses
a value out of its flag's range (a negative learning rate, beta_1 = 1, ...) with
one line naming the flag.
"""

from __future__ import annotations

from absl import flags

# NumPy's seeds are 32-bit unsigned integers.
MAX_SEED = 2**32 - 1
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
MIXED_PRECISION_POLICIES = ("off", "mixed_float16", "mixed_bfloat16")
LR_SCHEDULES = ("constant", "linear_decay", "cosine", "cyclic")
OPTIMIZERS = ("adam", "sgd")
WEIGHT_DECAY_MODES = ("decoupled", "coupled")


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
    "seed": (
        flags.DEFINE_integer,
        0,
        "Seed of Python, NumPy, TensorFlow and Keras random generators.",
        {"lower_bound": 0, "upper_bound": MAX_SEED},
    ),
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
    "malloc_mmap_threshold_mb": (
        flags.DEFINE_float,
        0.0,
        "Linux (glibc): host allocations of at least this many MB get memory mappings of their own, returned to "
        "the system when freed, so what a train step frees does not stay resident (glibc's own threshold rises "
        "to 32 MB, keeping freed activation maps in its arenas). 0, the default, leaves malloc as it is; a model "
        "whose recipe needs it sets it when the flag is not given (its train CLI's --help says where).",
        {"lower_bound": 0.0},
    ),
    "run_eagerly": (
        flags.DEFINE_bool,
        False,
        "Run the train step eagerly, without building a graph: for debugging, and for runs of a few steps, "
        "where building the graph of a large model takes longer than the steps.",
        {},
    ),
    # Optimisation.
    "learning_rate": (
        flags.DEFINE_float,
        2e-4,
        "Initial (peak, for cyclic) learning rate of every optimizer without its own --g_learning_rate or "
        "--d_learning_rate.",
        {},
    ),
    "g_learning_rate": (
        flags.DEFINE_float,
        None,
        "Learning rate of the generator player's optimizer, in place of --learning_rate (default: --learning_rate).",
        {},
    ),
    "d_learning_rate": (
        flags.DEFINE_float,
        None,
        "Learning rate of the discriminator player's optimizer, in place of --learning_rate "
        "(default: --learning_rate).",
        {},
    ),
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
        {},
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
    "momentum": (flags.DEFINE_float, 0.9, "SGD's momentum.", {}),
    "weight_decay": (
        flags.DEFINE_float,
        0.0,
        "Weight decay wd of every optimizer (0: none); --weight_decay_mode says how it applies.",
        {"lower_bound": 0.0},
    ),
    "weight_decay_mode": (
        flags.DEFINE_enum,
        "decoupled",
        "decoupled: w -= lr * wd * w beside the update (Keras, AdamW); coupled: wd * w is added to the "
        "gradient before the update (PyTorch's Adam(weight_decay=...), as the U-GAT-IT reference).",
        {"enum_values": WEIGHT_DECAY_MODES},
    ),
    "ema_decay": (
        flags.DEFINE_float,
        0.0,
        "Decay β of an exponential moving average of the generator weights, ema <- β·ema + (1-β)·w after every "
        "train step from the initial weights (StarGAN v2 uses 0.999); the image grids, the exports and so "
        "evaluation use the averages, the backup keeps both. 0: no average.",
        {},
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
    "backup_every_n_steps": (
        flags.DEFINE_integer,
        0,
        "Back up the training state every N steps, besides at every epoch end and on SIGTERM/SIGINT (0: not by steps).",
        {"lower_bound": 0},
    ),
    "backup_every_minutes": (
        flags.DEFINE_float,
        10.0,
        "Back up the training state after the first step that ends this many minutes after the last backup, "
        "so a hard kill (no SIGTERM first) loses at most that much; besides at every epoch end and on "
        "SIGTERM/SIGINT (0: not by time).",
        {"lower_bound": 0.0},
    ),
}


# {flag name: (what its value must satisfy, the error message)}: ranges absl's bounds cannot say.
_VALIDATORS = {
    "learning_rate": (lambda value: value > 0, "must be > 0"),
    "g_learning_rate": (lambda value: value is None or value > 0, "must be > 0"),
    "d_learning_rate": (lambda value: value is None or value > 0, "must be > 0"),
    "cyclic_period_epochs": (lambda value: value > 0, "must be > 0"),
    # 1 would divide Adam's bias correction 1 - beta^t by zero, and momentum 1 never forgets.
    "beta_1": (lambda value: 0 <= value < 1, "must be in [0, 1)"),
    "beta_2": (lambda value: 0 <= value < 1, "must be in [0, 1)"),
    "momentum": (lambda value: 0 <= value < 1, "must be in [0, 1)"),
    "ema_decay": (lambda value: 0 <= value < 1, "must be in [0, 1)"),
}


def _rates_at_least_the_minimum(values: dict) -> bool:
    """Whether the cyclic / cosine floor --min_learning_rate lies below every rate it bounds."""
    rates = [
        values[name] for name in ("learning_rate", "g_learning_rate", "d_learning_rate") if values[name] is not None
    ]
    return all(values["min_learning_rate"] <= rate for rate in rates)


# (flag names, what their values {name: value} must satisfy together, the error message)
_MULTI_FLAG_VALIDATORS = (
    (
        ("decay_start_epoch", "epochs"),
        lambda values: values["decay_start_epoch"] is None or values["decay_start_epoch"] < values["epochs"],
        "--decay_start_epoch must be < --epochs (the decay needs at least one epoch)",
    ),
    (
        ("min_learning_rate", "learning_rate", "g_learning_rate", "d_learning_rate"),
        _rates_at_least_the_minimum,
        "--min_learning_rate must be <= --learning_rate, --g_learning_rate and --d_learning_rate",
    ),
)

# {flag name: its value when not given, from the config}: resolved into the config, so config.json says it.
_DERIVED_DEFAULTS = {
    "decay_start_epoch": lambda config: config["epochs"] // 2,
    "g_learning_rate": lambda config: config["learning_rate"],
    "d_learning_rate": lambda config: config["learning_rate"],
}

COMMON_FLAG_NAMES = tuple(_DEFINITIONS)


def define_common_flags(flag_values: flags.FlagValues = flags.FLAGS, **defaults) -> None:
    """Defines the common flags in `flag_values`, with a model's own `defaults` (flag name -> value)."""
    unknown = sorted(set(defaults) - set(_DEFINITIONS))
    if unknown:
        raise TypeError(f"no common flag named {', '.join(unknown)}; the common flags are {', '.join(_DEFINITIONS)}")
    for name, (define, default, help_text, extra) in _DEFINITIONS.items():
        define(name, defaults.get(name, default), help=help_text, flag_values=flag_values, **extra)
    for name, (checker, message) in _VALIDATORS.items():
        flags.register_validator(name, checker, message, flag_values=flag_values)
    for names, checker, message in _MULTI_FLAG_VALIDATORS:
        flags.register_multi_flags_validator(names, checker, message, flag_values=flag_values)


def config_from_flags(model_name: str, extra_flag_names=(), flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """{"model": model_name, common flags..., extra flags...}: the parsed values, a plain dict.

    Defaults that depend on other flags are resolved here, so the config
    (and the config the run saves) says what the run really used.
    """
    config = {"model": model_name}
    for name in (*COMMON_FLAG_NAMES, *extra_flag_names):
        config[name] = flag_values[name].value
    return _resolve_derived_defaults(config, flag_values)


def apply_recipe(config: dict, recipe: dict, flag_values: flags.FlagValues = flags.FLAGS) -> dict:
    """`config` with `recipe`'s values ({flag name: value}) for every flag not given on the command line.

    Defaults derived from a flag the recipe sets (--g_learning_rate from
    --learning_rate, say) follow the recipe's value.
    """
    config = {**config, **{name: value for name, value in recipe.items() if not flag_values[name].present}}
    return _resolve_derived_defaults(config, flag_values, keep=recipe)


def _resolve_derived_defaults(config: dict, flag_values: flags.FlagValues, keep=()) -> dict:
    """`config` with each derived default (`_DERIVED_DEFAULTS`) the command line left unset, except those in `keep`."""
    unset = [name for name in _DERIVED_DEFAULTS if flag_values[name].value is None and name not in keep]
    return {**config, **{name: _DERIVED_DEFAULTS[name](config) for name in unset}}


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


def define_int_list(
    name: str, default, help: str, flag_values: flags.FlagValues = flags.FLAGS, module_name: str | None = None
) -> None:
    """A flag `--name=256,128,64` whose value is a list of positive ints (e.g. layer widths).

    module_name: the module whose --help lists it (default: training.flags, listed by --helpfull).
    """
    flags.DEFINE(
        _IntListParser(),
        name,
        list(default),
        help,
        flag_values=flag_values,
        serializer=flags.CsvListSerializer(","),
        module_name=module_name,
    )
