"""`training.hyperparameters`: one dataclass field becomes a flag, a config entry, a constructor argument and
a `get_config` entry; renamed flags and config keys keep working."""

from __future__ import annotations

import dataclasses

import keras
import pytest
from absl import flags as absl_flags

from training import flags, hyperparameters
from training.hyperparameters import HasHyperparameters, Hyperparameters, hyperparameter


@dataclasses.dataclass(frozen=True)
class ToyHyperparameters(Hyperparameters):
    width: int = hyperparameter(8, "Width of the toy layer.", lower_bound=1)
    adversarial_weight: float = hyperparameter(1.0, "Weight of the toy adversarial term.", lower_bound=0.0)
    loss: str = hyperparameter("lsgan", "The toy loss.", choices=("lsgan", "bce"))
    filters: tuple[int, ...] = hyperparameter((4, 8), "Comma-separated toy widths.")
    light: bool = hyperparameter(False, "Toy light mode.")
    size: int = hyperparameter(16, "Toy size, a multiple of 4.", check=(lambda size: size % 4 == 0, "must be even"))
    derived_weight: float = hyperparameter(2.0, "Derived from the others by the registration.", flag=False)


@dataclasses.dataclass(frozen=True)
class ExtendedHyperparameters(ToyHyperparameters):
    """The toy with one more field, declared once."""

    semantic_weight: float = hyperparameter(0.25, "A new toy hyperparameter.", lower_bound=0.0, upper_bound=1.0)


class ToyModel(HasHyperparameters, keras.Model):
    hyperparameter_class = ToyHyperparameters

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.dense = keras.layers.Dense(self.width)

    def call(self, inputs):
        return self.dense(inputs)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class ExtendedModel(ToyModel):
    hyperparameter_class = ExtendedHyperparameters


def parsed(cls, *arguments, **defaults) -> absl_flags.FlagValues:
    values = absl_flags.FlagValues()
    cls.define_flags(values, **defaults)
    flags.define_common_flags(values)
    values(["train", *arguments])
    return values


def test_a_new_field_is_a_flag_a_config_entry_a_constructor_argument_and_in_get_config():
    values = parsed(ExtendedHyperparameters, "--semantic_weight=0.5")
    assert "semantic_weight" in values and values["semantic_weight"].help == "A new toy hyperparameter."
    assert "semantic_weight" not in parsed(ToyHyperparameters)

    config = flags.config_from_flags("toy", ExtendedHyperparameters.flag_names(), values)
    assert config["semantic_weight"] == 0.5

    arguments = ExtendedHyperparameters.arguments(config)
    assert arguments["semantic_weight"] == 0.5
    model = ExtendedModel(**arguments)
    assert model.semantic_weight == 0.5 and model.hyperparameters.semantic_weight == 0.5
    assert model.get_config()["semantic_weight"] == 0.5


def test_config_to_model_to_get_config_to_from_config_keeps_every_hyperparameter():
    values = parsed(
        ToyHyperparameters, "--width=3", "--adversarial_weight=0.5", "--loss=bce", "--filters=2,6", "--light"
    )
    config = flags.config_from_flags("toy", ToyHyperparameters.flag_names(), values)
    model = ToyModel(**ToyHyperparameters.arguments(config, derived_weight=7.0), seed=5)

    restored = ToyModel.from_config(model.get_config())

    expected = {"width": 3, "adversarial_weight": 0.5, "loss": "bce", "filters": [2, 6], "light": True, "size": 16}
    assert restored.hyperparameters == model.hyperparameters
    assert restored.hyperparameters.to_config() == {**expected, "derived_weight": 7.0}
    assert restored.get_config() == model.get_config()
    assert (restored.seed, restored.width, restored.filters) == (5, 3, (2, 6))
    assert restored(keras.ops.ones((1, 2))).shape == (1, 3)


def test_the_flags_carry_the_fields_types_defaults_help_and_bounds():
    values = parsed(ToyHyperparameters, width=12)
    assert (values.width, values.adversarial_weight, values.loss, values.filters, values.light) == (
        12,
        1.0,
        "lsgan",
        [4, 8],
        False,
    )
    assert values["width"].help == "Width of the toy layer."
    assert "derived_weight" not in values  # flag=False: the registration derives it
    assert ToyHyperparameters.flag_names() == ("width", "adversarial_weight", "loss", "filters", "light", "size")
    for argument, message in [
        ("--width=0", "--width"),
        ("--loss=hinge", "--loss"),
        ("--adversarial_weight=-1", "--adversarial_weight"),
        ("--size=6", "must be even"),
    ]:
        with pytest.raises(absl_flags.IllegalFlagValueError, match=message):
            parsed(ToyHyperparameters, argument)


def test_the_flags_belong_to_the_module_that_defines_them():
    values = absl_flags.FlagValues()
    ToyHyperparameters.define_flags(values)
    assert {flag.name for flag in values.get_flags_for_module(__name__)} >= set(ToyHyperparameters.flag_names())


def test_the_constructor_converts_and_checks_its_arguments_as_the_flags_do():
    model = ToyModel(width=4.0, filters=[3, 5])
    assert (type(model.width), model.filters) == (int, (3, 5))
    with pytest.raises(ValueError, match=r"loss must be one of \('lsgan', 'bce'\), got 'hinge'"):
        ToyModel(loss="hinge")
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        ToyModel(width=0)
    with pytest.raises(ValueError, match="size must be even, got 6"):
        ToyModel(size=6)
    with pytest.raises(TypeError, match="no flag named widht"):
        ToyHyperparameters.define_flags(absl_flags.FlagValues(), widht=3)


def test_a_renamed_flag_still_parses_into_the_new_one_with_a_one_line_warning(capsys):
    values = absl_flags.FlagValues()
    ToyHyperparameters.define_flags(values)
    hyperparameters.define_renamed_flags({"gan_weight": "adversarial_weight"}, values)
    values(["train", "--gan_weight=0.25"])

    assert values.adversarial_weight == 0.25 and values["adversarial_weight"].present
    assert capsys.readouterr().err == "warning: --gan_weight is deprecated; use --adversarial_weight\n"


def test_a_recipe_does_not_override_a_value_given_under_the_old_name():
    values = absl_flags.FlagValues()
    ToyHyperparameters.define_flags(values)
    flags.define_common_flags(values)
    hyperparameters.define_renamed_flags({"gan_weight": "adversarial_weight"}, values)
    values(["train", "--gan_weight=0.25"])
    config = flags.config_from_flags("toy", ToyHyperparameters.flag_names(), values)

    assert flags.apply_recipe(config, {"adversarial_weight": 1.0, "width": 2}, values)["adversarial_weight"] == 0.25


def test_an_old_config_key_builds_the_same_model_as_the_new_one():
    renamed = {"gan_weight": "adversarial_weight"}
    old = hyperparameters.upgrade_config({"gan_weight": 0.25, "width": 3}, renamed)
    new = hyperparameters.upgrade_config({"adversarial_weight": 0.25, "width": 3}, renamed)

    assert old == new == {"adversarial_weight": 0.25, "width": 3}
    assert ToyHyperparameters.arguments(old) == ToyHyperparameters.arguments(new)
    assert hyperparameters.upgrade_config({"gan_weight": 1.0, "adversarial_weight": 0.5}, renamed) == {
        "adversarial_weight": 0.5
    }
