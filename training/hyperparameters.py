"""A model's hyperparameters, declared once: a frozen dataclass whose fields carry default, help and bounds.

    @dataclasses.dataclass(frozen=True)
    class DCGANHyperparameters(Hyperparameters):
        noise_dim: int = hyperparameter(100, "Size of the noise vector z.", lower_bound=1)

Everything else derives from that one declaration:

- the CLI: `DCGANHyperparameters.define_flags(flag_values)` defines --noise_dim (its type from the
  annotation, its default, help and bounds or choices) as a flag of the calling train module;
- the run config: `DCGANHyperparameters.flag_names()` are its entries
  (`training.flags.config_from_flags(model, [*DCGANHyperparameters.flag_names(), ...])`);
- the constructor: a model class `class DCGAN(HasHyperparameters, GANModel)` with
  `hyperparameter_class = DCGANHyperparameters` takes every field as a keyword argument (checked against
  its bounds and choices), keeps it as an attribute of the same name and in `model.hyperparameters`;
  `DCGANHyperparameters.arguments(config)` are those keyword arguments from a run's config;
- `get_config`: `HasHyperparameters.get_config` adds every field, so `from_config` rebuilds the model.

A field declared with `flag=False` is a constructor argument the CLI does not expose: the registration
derives it from other config entries (CycleGAN's four term weights from the reference's λ, say).

Old flag names keep working: each model lists {old name: current name} once (`RENAMED`), from which
`define_renamed_flags` makes the old names aliases that print a one-line deprecation warning, and
`upgrade_config` maps the old keys of a run config (as an older run's config.json has them) to the current ones.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable
from typing import ClassVar

from absl import flags

from training import flags as training_flags


def hyperparameter(
    default,
    help: str,
    *,
    lower_bound=None,
    upper_bound=None,
    choices: tuple[str, ...] | None = None,
    check: tuple[Callable[[object], bool], str] | None = None,
    flag: bool = True,
):
    """A field of a `Hyperparameters` dataclass: its default, its --help text, the values it accepts.

    check: (what a value must satisfy, what the message says it must be), for a rule bounds cannot say.
    flag: False for a constructor argument the CLI does not expose.
    """
    metadata = {
        "help": help,
        "lower_bound": lower_bound,
        "upper_bound": upper_bound,
        "choices": None if choices is None else tuple(choices),
        "check": check,
        "flag": flag,
    }
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Base of a model's hyperparameter dataclass: each value is converted to its field's type and checked."""

    def __post_init__(self):
        for field, kind in _typed_fields(type(self)):
            value = _convert(kind, getattr(self, field.name))
            _check(field, value)
            object.__setattr__(self, field.name, value)

    @classmethod
    def define_flags(cls, flag_values: flags.FlagValues = flags.FLAGS, **defaults) -> None:
        """One flag per field (but those declared `flag=False`), with `defaults` (flag name -> value) in place
        of the fields' own: the CLI's where they differ from the model's. The flags belong to the calling
        module, so its --help lists them."""
        module_name = _calling_module_name()
        unknown = sorted(set(defaults) - set(cls.flag_names()))
        if unknown:
            raise TypeError(f"{cls.__name__} has no flag named {', '.join(unknown)}")
        for field, kind in _typed_fields(cls):
            if field.metadata["flag"]:
                default = defaults.get(field.name, field.default)
                _define_flag(field, kind, default, flag_values, module_name)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def flag_names(cls) -> tuple[str, ...]:
        """The fields the CLI exposes: the model's entries of a run config."""
        return tuple(field.name for field in dataclasses.fields(cls) if field.metadata["flag"])

    @classmethod
    def arguments(cls, config: dict, **derived) -> dict:
        """The constructor's keyword arguments from a run's `config`: its value of every flag field, then
        `derived` (the values of `flag=False` fields, and of flag fields the registration derives from
        others); a field neither gives takes its default."""
        values = {name: config[name] for name in cls.flag_names() if name in config}
        return cls(**{**values, **derived}).to_config()

    def to_config(self) -> dict:
        """{field name: value}, JSON-serialisable (tuples as lists)."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


class HasHyperparameters:
    """Mixin for a `keras.Model` whose hyperparameters are the fields of `hyperparameter_class`.

    Put it before the Keras base class: `class DCGAN(HasHyperparameters, GANModel)`. The constructor takes
    each field as a keyword argument (its default when not given) and sets it as an attribute of the same
    name before the subclass's `__init__` builds its networks; `get_config` returns them all.
    """

    hyperparameter_class: ClassVar[type[Hyperparameters]]

    def __init__(self, **kwargs):
        names = self.hyperparameter_class.field_names()
        hyperparameters = self.hyperparameter_class(**{name: kwargs.pop(name) for name in names if name in kwargs})
        super().__init__(**kwargs)
        self.hyperparameters = hyperparameters
        for name in names:
            setattr(self, name, getattr(hyperparameters, name))

    def get_config(self):
        return {**super().get_config(), **self.hyperparameters.to_config()}


def define_renamed_flags(renamed: dict[str, str], flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Each old flag name of `renamed` ({old: new}) as an alias of the new flag, which prints
    "warning: --old is deprecated; use --new" when given. Call it once the new flags are defined."""
    module_name = _calling_module_name()
    for old, new in renamed.items():
        flags.DEFINE_flag(_DeprecatedAlias(flag_values[new], old), flag_values, module_name)


def upgrade_config(config: dict, renamed: dict[str, str]) -> dict:
    """`config` with each old key of `renamed` ({old: new}) under its new name, so an older run's config.json
    builds the same model; a config that has the new key keeps its value."""
    upgraded = {key: value for key, value in config.items() if key not in renamed}
    for old, new in renamed.items():
        if old in config and new not in config:
            upgraded[new] = config[old]
    return upgraded


class _DeprecatedAlias(flags.Flag):
    """--old_name: parses into the flag it was renamed to (which then counts as given), with a warning."""

    def __init__(self, target: flags.Flag, name: str):
        self._target = target
        super().__init__(
            target.parser,
            target.serializer,
            name,
            target.default,
            f"Deprecated: use --{target.name}.",
            boolean=target.boolean,
        )

    def parse(self, argument):
        print(f"warning: --{self.name} is deprecated; use --{self._target.name}", file=sys.stderr, flush=True)
        self._target.parse(argument)
        self.present += 1

    @property
    def value(self):
        return self._target.value

    @value.setter
    def value(self, value):
        self._target.value = value


def _typed_fields(cls) -> list:
    """[(field, its value type)] of a dataclass, from its annotations."""
    hints = typing.get_type_hints(cls)
    return [(field, hints[field.name]) for field in dataclasses.fields(cls)]


def _is_int_tuple(kind) -> bool:
    return typing.get_origin(kind) is tuple


def _convert(kind, value):
    """`value` as `kind`: bool, int, float, str, or tuple[int, ...] (from any sequence)."""
    if _is_int_tuple(kind):
        return tuple(int(item) for item in value)
    return kind(value)


def _check(field: dataclasses.Field, value) -> None:
    """ValueError naming the field if `value` is not among its choices, outside its bounds, or fails its check."""
    metadata, name = field.metadata, field.name
    if metadata["choices"] is not None and value not in metadata["choices"]:
        raise ValueError(f"{name} must be one of {metadata['choices']}, got {value!r}")
    if metadata["lower_bound"] is not None and value < metadata["lower_bound"]:
        raise ValueError(f"{name} must be >= {metadata['lower_bound']}, got {value}")
    if metadata["upper_bound"] is not None and value > metadata["upper_bound"]:
        raise ValueError(f"{name} must be <= {metadata['upper_bound']}, got {value}")
    if metadata["check"] is not None and not metadata["check"][0](value):
        raise ValueError(f"{name} {metadata['check'][1]}, got {value}")


def _define_flag(field: dataclasses.Field, kind, default, flag_values: flags.FlagValues, module_name: str) -> None:
    """The absl flag of one field: bool, enum (a str with choices), string, integer, float or list of ints."""
    metadata, name = field.metadata, field.name
    common = {"flag_values": flag_values, "module_name": module_name}
    bounds = {"lower_bound": metadata["lower_bound"], "upper_bound": metadata["upper_bound"]}
    if _is_int_tuple(kind):
        training_flags.define_int_list(name, default, metadata["help"], flag_values, module_name)
    elif kind is bool:
        flags.DEFINE_bool(name, default, metadata["help"], **common)
    elif kind is str and metadata["choices"] is not None:
        flags.DEFINE_enum(name, default, list(metadata["choices"]), metadata["help"], **common)
    elif kind is str:
        flags.DEFINE_string(name, default, metadata["help"], **common)
    elif kind is int:
        flags.DEFINE_integer(name, default, metadata["help"], **bounds, **common)
    elif kind is float:
        flags.DEFINE_float(name, default, metadata["help"], **bounds, **common)
    else:
        raise TypeError(f"hyperparameter {name}: no flag for a value of type {kind}")
    if metadata["check"] is not None:
        check, message = metadata["check"]
        flags.register_validator(name, lambda value: value is None or check(value), message, flag_values=flag_values)


def _calling_module_name() -> str:
    """The first module up the stack outside this one, named as absl names it (the script's path for
    __main__), so that module's --help lists the flags defined for it."""
    frame = sys._getframe(1)
    while frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    name = frame.f_globals["__name__"]
    return sys.argv[0] if name == "__main__" else name
