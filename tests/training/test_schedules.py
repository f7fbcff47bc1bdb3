"""Learning-rate schedules against hand-computed values."""

from __future__ import annotations

import math

import keras
import pytest

from tests.training.conftest import toy_config
from training.schedules import LinearDecayAfter, TriangularCyclic, make_learning_rate

STEPS_PER_EPOCH = 10


def rates(schedule, steps) -> list:
    return [float(schedule(step)) for step in steps]


def test_constant_is_a_plain_float(tmp_path):
    assert make_learning_rate(toy_config(tmp_path, learning_rate=3e-4), STEPS_PER_EPOCH) == 3e-4


def test_linear_decay_is_constant_until_the_decay_epoch_then_linear_to_zero_at_the_end(tmp_path):
    config = toy_config(tmp_path, lr_schedule="linear_decay", learning_rate=1e-3, epochs=4, decay_start_epoch=2)
    schedule = make_learning_rate(config, STEPS_PER_EPOCH)  # constant for steps 0-20, zero at 40

    assert rates(schedule, [0, 19, 20, 25, 30, 39, 40, 55]) == pytest.approx(
        [1e-3, 1e-3, 1e-3, 0.75e-3, 0.5e-3, 0.05e-3, 0.0, 0.0], abs=1e-9
    )


def test_cyclic_is_a_triangle_between_the_minimum_and_the_learning_rate(tmp_path):
    config = toy_config(
        tmp_path, lr_schedule="cyclic", learning_rate=1e-3, min_learning_rate=1e-4, cyclic_period_epochs=2
    )
    schedule = make_learning_rate(config, STEPS_PER_EPOCH)  # period 20 steps, peak at 10

    assert rates(schedule, [0, 5, 10, 15, 20, 23, 30]) == pytest.approx(
        [1e-4, 5.5e-4, 1e-3, 5.5e-4, 1e-4, 1e-4 + 0.3 * 9e-4, 1e-3], abs=1e-9
    )


def test_cosine_decays_to_the_minimum_over_the_run(tmp_path):
    config = toy_config(tmp_path, lr_schedule="cosine", learning_rate=1e-3, min_learning_rate=1e-4, epochs=4)
    schedule = make_learning_rate(config, STEPS_PER_EPOCH)  # 40 steps

    def expected(step):
        return 1e-4 + 9e-4 * 0.5 * (1 + math.cos(math.pi * step / 40))

    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert rates(schedule, [0, 10, 20, 40]) == pytest.approx([expected(s) for s in (0, 10, 20, 40)], abs=1e-9)


@pytest.mark.parametrize("schedule", [LinearDecayAfter(1e-3, 20, 40), TriangularCyclic(1e-4, 1e-3, 20)])
def test_custom_schedules_serialise(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))

    assert type(restored) is type(schedule)
    assert rates(restored, [0, 13, 25, 40]) == pytest.approx(rates(schedule, [0, 13, 25, 40]))
