"""ugatit.factored_updates: Adam's step on weights whose gradients come as two factors, left^T right, each
built and applied only after the previous weight's update (a kernel kept as row blocks holds one block's
gradient at a time)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.optimizers import CoupledAdam, FusedAdam
from training.schedules import LinearDecayAfter
from ugatit.factored_updates import apply_factored, takes_factored_gradients

COLUMNS, USES = 3, 2
BLOCKS = [(0, 4), (4, 8), (8, 10)]  # a 10-row kernel kept as three row blocks
ROWS = BLOCKS[-1][1]


def _optimizers():
    """Adam with a learning rate that changes every step (an off-by-one step count shows), plain and with
    coupled weight decay large enough to matter."""
    schedule = LinearDecayAfter(0.1, decay_start_step=0, decay_end_step=5)
    return {
        "fused": lambda: FusedAdam(schedule, beta_1=0.5, beta_2=0.999),
        "coupled": lambda: CoupledAdam(schedule, beta_1=0.5, beta_2=0.999, weight_decay=0.3),
    }


def _variables():
    """The kernel's row blocks, then a bias."""
    kernel = np.random.default_rng(0).normal(size=(ROWS, COLUMNS)).astype("float32")
    blocks = [keras.Variable(kernel[begin:end], name=f"kernel_rows_{begin}_{end}") for begin, end in BLOCKS]
    return [*blocks, keras.Variable(np.ones(COLUMNS, "float32"), name="bias")]


def _factors(step: int):
    rng = np.random.default_rng(100 + step)
    left = rng.normal(size=(USES, ROWS)).astype("float32")
    right = rng.normal(size=(USES, COLUMNS)).astype("float32")
    bias_gradient = rng.normal(size=COLUMNS).astype("float32")
    return left, right, bias_gradient


def _update(optimizer, variables, factored: bool, left, right, bias_gradient):
    """One step: the blocks' gradients as factors, or multiplied out and given to `apply`."""
    if factored:
        factors = {index: (left[:, begin:end], right) for index, (begin, end) in enumerate(BLOCKS)}
        apply_factored(optimizer, [None] * len(BLOCKS) + [bias_gradient], variables, factors)
    else:
        whole = [tf.matmul(left[:, begin:end], right, transpose_a=True) for begin, end in BLOCKS]
        optimizer.apply([*whole, bias_gradient], variables)


def _run(make_optimizer, factored: bool, steps: int = 3, jit_compile: bool = False):
    """`steps` updates of the blocks and the bias; the variables and the optimizer."""
    variables, optimizer = _variables(), make_optimizer()

    @tf.function(jit_compile=jit_compile)
    def update(left, right, bias_gradient):
        _update(optimizer, variables, factored, left, right, bias_gradient)

    for step in range(steps):
        update(*_factors(step))
    return variables, optimizer


@pytest.mark.parametrize("kind, jit_compile", [("fused", False), ("coupled", False), ("coupled", True)])
def test_a_factored_step_is_the_step_on_the_whole_gradient(kind, jit_compile):
    make_optimizer = _optimizers()[kind]
    factored, factored_optimizer = _run(make_optimizer, factored=True, jit_compile=jit_compile)
    whole, whole_optimizer = _run(make_optimizer, factored=False, jit_compile=jit_compile)
    for moved, start in zip(factored, _variables()):
        assert np.abs(np.array(moved) - np.array(start)).min() > 1e-3  # every weight of every block moved
    for got, expected in zip(factored, whole):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    for got, expected in zip(factored_optimizer.variables, whole_optimizer.variables):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7, err_msg=got.path)
    assert int(factored_optimizer.iterations) == 3


def test_a_factored_step_matches_numpy_adam_with_coupled_decay():
    left, right, _ = _factors(0)
    variables, optimizer = _run(_optimizers()["coupled"], factored=True, steps=1)
    start = np.concatenate([np.array(block) for block in _variables()[: len(BLOCKS)]])
    gradient = left.T @ right + 0.3 * start
    m, v = 0.5 * gradient, 0.001 * gradient**2
    step_size = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.5)
    kernel = np.concatenate([np.array(block) for block in variables[: len(BLOCKS)]])
    np.testing.assert_allclose(kernel, start - step_size * m / (np.sqrt(v) + optimizer.epsilon), rtol=1e-5)


def test_with_only_factored_weights_the_iteration_still_counts():
    block = _variables()[0]
    left, right, _ = _factors(0)
    optimizer = FusedAdam(0.1)
    apply_factored(optimizer, [None], [block], {0: (left[:, :4], right)})
    assert int(optimizer.iterations) == 1
    assert not np.allclose(block, _variables()[0])


def _reaches(source, target) -> bool:
    """Whether `target` op depends on `source` op, through data or control edges."""
    stack, seen = [target], set()
    while stack:
        op = stack.pop()
        if op is source:
            return True
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend([tensor.op for tensor in op.inputs] + list(op.control_inputs))
    return False


def test_each_blocks_gradient_is_built_after_the_previous_blocks_update():
    """What keeps one block's gradient alive at a time: a graph order, not the executor's choice."""
    variables, optimizer = _variables(), _optimizers()["coupled"]()
    optimizer.build(variables)

    @tf.function
    def update(left, right, bias_gradient):
        _update(optimizer, variables, True, left, right, bias_gradient)

    operations = update.get_concrete_function(*_factors(0)).graph.get_operations()
    updates = [op for op in operations if op.type == "ResourceApplyAdam"]
    gradients = [op for op in operations if op.type == "MatMul"]
    assert len(updates) == len(BLOCKS) + 1 and len(gradients) == len(BLOCKS)  # the bias's update too
    for previous_update, gradient in zip(updates, gradients[1:]):
        assert _reaches(previous_update, gradient)
    assert not _reaches(updates[1], gradients[0])


@pytest.mark.parametrize(
    "make_optimizer, supported",
    [
        (lambda: FusedAdam(0.1), True),
        (lambda: CoupledAdam(0.1, weight_decay=1e-4), True),
        (lambda: FusedAdam(0.1, amsgrad=True), False),
        (lambda: FusedAdam(0.1, clipnorm=1.0), False),
        (lambda: FusedAdam(0.1, global_clipnorm=1.0), False),
        (lambda: FusedAdam(0.1, use_ema=True), False),
        (lambda: FusedAdam(0.1, gradient_accumulation_steps=2), False),
        (lambda: FusedAdam(0.1, weight_decay=1e-4), False),  # Keras decays decoupled, beside `apply`
    ],
)
def test_which_optimizers_take_factored_gradients(make_optimizer, supported):
    assert takes_factored_gradients(make_optimizer()) is supported


def test_no_factored_gradients_under_a_distribution_strategy():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert not takes_factored_gradients(FusedAdam(0.1))


def _loss_scaled(factored: bool, factors_scale: float = 1.0, steps: int = 2):
    """`steps` loss-scaled updates (gradients and right factors times the scale, as a scaled loss gives them)."""
    variables = _variables()
    optimizer = keras.optimizers.LossScaleOptimizer(
        _optimizers()["coupled"](), initial_scale=8.0, dynamic_growth_steps=2
    )
    optimizer.build(variables)  # its scale, read before the first step

    @tf.function
    def update(left, right, bias_gradient):
        scale = optimizer.dynamic_scale
        _update(optimizer, variables, factored, left * factors_scale, right * scale, bias_gradient * scale)

    for step in range(steps):
        update(*_factors(step))
    return variables, optimizer


def test_under_loss_scaling_a_factored_step_is_the_step_on_the_whole_gradient():
    factored, factored_optimizer = _loss_scaled(factored=True)
    whole, whole_optimizer = _loss_scaled(factored=False)
    for got, expected, start in zip(factored, whole, _variables()):
        assert np.abs(np.array(got) - np.array(start)).min() > 1e-3  # every weight moved
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    for optimizer in (factored_optimizer, whole_optimizer):
        assert int(optimizer.inner_optimizer.iterations) == 2
        assert float(optimizer.dynamic_scale) == 16.0  # doubled after dynamic_growth_steps finite steps
    assert takes_factored_gradients(keras.optimizers.LossScaleOptimizer(FusedAdam(0.1)))
    assert not takes_factored_gradients(keras.optimizers.LossScaleOptimizer(FusedAdam(0.1, amsgrad=True)))


@pytest.mark.parametrize("factors_scale", [np.inf, 1e37], ids=["an_infinite_factor", "a_product_that_could_overflow"])
def test_under_loss_scaling_a_factored_step_is_skipped_and_the_scale_halved(factors_scale):
    variables, optimizer = _loss_scaled(factored=True, factors_scale=factors_scale, steps=1)
    for got, start in zip(variables, _variables()):
        np.testing.assert_array_equal(got, start)
    assert int(optimizer.inner_optimizer.iterations) == 0
    assert float(optimizer.dynamic_scale) == 4.0
