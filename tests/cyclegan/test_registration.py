"""The reference's λ parameters -> CycleGAN's four term weights, a run config -> the model, and the registry entry."""

import pytest

from cyclegan.registration import MODEL, model_weights
from tests.cyclegan.test_cli import TINY, parse_config
from training import registry

REFERENCE = {"cycle_weight_a": 10.0, "cycle_weight_b": 8.0, "relative_identity_weight": 0.5}


@pytest.mark.parametrize(
    "cycle_loss, expected_cycles",
    [("both", (10.0, 8.0)), ("a", (10.0, 0.0)), ("none", (0.0, 0.0))],
)
def test_turning_cycle_terms_off_leaves_the_identity_terms(cycle_loss, expected_cycles):
    weights = model_weights({**REFERENCE, "cycle_loss": cycle_loss})
    assert (weights["cycle_weight_a"], weights["cycle_weight_b"]) == expected_cycles
    # idt_A = λ_idt λ_B (it guards domain B), idt_B = λ_idt λ_A.
    assert (weights["identity_weight_a"], weights["identity_weight_b"]) == (4.0, 5.0)


def test_cyclegan_is_registered_with_its_two_directions():
    assert registry.get("cyclegan") is MODEL
    assert MODEL.directions == ("a2b", "b2a") and "cyclegan" in registry.translators()


def test_a_run_config_with_the_old_lambda_keys_builds_the_same_model():
    config = parse_config(*TINY, "--cycle_weight_b=8", "--relative_identity_weight=0.25", "--cycle_loss=a")
    old_names = {"cycle_weight_a": "lambda_a", "cycle_weight_b": "lambda_b"}
    old_names["relative_identity_weight"] = "lambda_identity"
    old = {old_names.get(key, key): value for key, value in config.items()}

    model, old_model = MODEL.build(config), MODEL.build(old)

    assert old_model.hyperparameters == model.hyperparameters and old_model.seed == model.seed
    weights = (model.cycle_weight_a, model.cycle_weight_b, model.identity_weight_a, model.identity_weight_b)
    assert weights == (10.0, 0.0, 2.0, 2.5)
