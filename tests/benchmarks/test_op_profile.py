"""The op-type profile of a train step: TensorFlow's trace of the toy GAN's steps, summed by op type."""

import pytest

from benchmarks import op_profile, train_step
from tests.training import toy_gan


def test_op_types_are_summed_per_step_and_ranked_by_their_share():
    rows = [
        {"type": "Conv2D", "total_self_time": 3e6, "occurrences": 4},
        {"type": "Conv2D", "total_self_time": 1e6, "occurrences": 2},
        {"type": "Mean", "total_self_time": 2e6, "occurrences": 6},
    ]
    types = op_profile.by_op_type(rows, steps=2)
    assert types == [
        {"op_type": "Conv2D", "s_per_step": 2.0, "share": pytest.approx(2 / 3, abs=1e-4), "ops_per_step": 3},
        {"op_type": "Mean", "s_per_step": 1.0, "share": pytest.approx(1 / 3, abs=1e-4), "ops_per_step": 3},
    ]
    table = op_profile.format_table(types, top=1).splitlines()
    assert len(table) == 2 and table[1].split() == ["Conv2D", "2.000", "66.7%", "3"]


def test_a_traced_toy_step_shows_its_convolutions_once_per_step_each(registered_toy, tmp_path):
    model, batch = train_step.build(toy_gan.MODEL.untrained, toy_gan.MODEL.benchmark, jit_compile=False)
    rows = op_profile.op_rows(op_profile.traced_steps(model, batch, steps=2, logdir=tmp_path))
    types = {entry["op_type"]: entry for entry in op_profile.by_op_type(rows, steps=2)}
    assert all(row["type"] != op_profile.IDLE for row in rows)
    assert sum(entry["share"] for entry in types.values()) == pytest.approx(1.0, abs=0.01)
    convolutions = [name for name in types if "Conv2D" in name and "Backprop" not in name]
    backward = [name for name in types if "Conv2DBackprop" in name]
    assert convolutions and backward  # the forward convolutions and their gradients, traced
    assert all(types[name]["s_per_step"] > 0 for name in convolutions + backward)
