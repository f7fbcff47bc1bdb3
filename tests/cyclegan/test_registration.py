"""The reference's λ parameters -> CycleGAN's four term weights, and the registry entry."""

import pytest

from cyclegan.registration import MODEL, model_weights
from training import registry

REFERENCE = {"lambda_a": 10.0, "lambda_b": 8.0, "lambda_identity": 0.5}


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
