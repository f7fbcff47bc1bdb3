"""ugatit.kernel_gradients: a Dense kernel's gradient over all its uses, built as one product X^T dY."""

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import gradients
from training.optimizers import CoupledAdam
from ugatit.factored_updates import apply_recorded_gradients
from ugatit.kernel_gradients import KernelGradientRecording, RecordedKernelDense

FEATURES, UNITS = 6, 4


@pytest.fixture(autouse=True)
def fixed_seed():
    """Each test draws the same weights and inputs whatever ran before it (some draws leave every ReLU dead)."""
    keras.utils.set_random_seed(0)


def _pair(rows_per_block=None, **options):
    """A RecordedKernelDense (its kernel in blocks of `rows_per_block` rows) and a keras Dense with the same
    weights, both built."""
    recorded = RecordedKernelDense(UNITS, rows_per_block=rows_per_block, kernel_initializer="random_normal", **options)
    plain = keras.layers.Dense(UNITS, **options)
    for layer in (recorded, plain):
        layer.build((None, FEATURES))
    plain.set_weights([np.array(recorded.kernel), *([np.array(recorded.bias)] if recorded.bias is not None else [])])
    return recorded, plain


def _block_slices(recorded, whole):
    """`whole`, a kernel-shaped array, cut into the recorded layer's row blocks."""
    return [np.asarray(whole)[begin:end] for begin, end in recorded.row_bounds]


def _twice_used_loss(layer, x, other_weights):
    """A loss that uses `layer` twice, the second time on a function of its first output and another weight."""
    first = layer(x)
    second = layer(tf.concat([first, first * other_weights], axis=-1)[:, :FEATURES])
    return tf.reduce_sum(first**2) + tf.reduce_sum(tf.sin(second))


@pytest.mark.parametrize("rows_per_block", [None, 4, 2])
def test_outside_a_recording_it_is_keras_dense_and_the_tape_differentiates_its_kernel(rows_per_block):
    recorded, plain = _pair(rows_per_block, activation="tanh")
    x = tf.random.normal((3, FEATURES), seed=1)
    with tf.GradientTape(persistent=True) as tape:
        outputs = {"recorded": recorded(x), "plain": plain(x)}
        losses = {name: tf.reduce_sum(value**2) for name, value in outputs.items()}
    np.testing.assert_allclose(outputs["recorded"], outputs["plain"], rtol=1e-5, atol=1e-6)
    block_gradients = tape.gradient(losses["recorded"], recorded.kernel_blocks)
    for got, expected in zip(block_gradients, _block_slices(recorded, tape.gradient(losses["plain"], plain.kernel))):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("rows_per_block, blocks", [(None, [(0, 6)]), (6, [(0, 6)]), (4, [(0, 4), (4, 6)])])
def test_a_kernel_in_row_blocks_is_one_variable_per_block_in_row_order_then_the_bias(rows_per_block, blocks):
    recorded, _ = _pair(rows_per_block, use_bias=True)
    assert recorded.row_bounds == blocks
    assert [tuple(block.shape) for block in recorded.kernel_blocks] == [(end - begin, UNITS) for begin, end in blocks]
    assert recorded.weights == [*recorded.kernel_blocks, recorded.bias]
    names = [block.name for block in recorded.kernel_blocks]
    assert names == (["kernel"] if len(blocks) == 1 else [f"kernel_rows_{begin}_{end}" for begin, end in blocks])


def test_a_blocked_kernel_refuses_an_initializer_that_scales_with_the_fans():
    layer = RecordedKernelDense(UNITS, rows_per_block=4, kernel_initializer="glorot_uniform", name="fc")
    with pytest.raises(ValueError, match="fc: a kernel kept in 2 row blocks .* GlorotUniform"):
        layer.build((None, FEATURES))
    with pytest.raises(ValueError, match="rows_per_block must be a positive number"):
        RecordedKernelDense(UNITS, rows_per_block=0)


def test_a_blocked_layer_saves_and_loads_its_weights_and_config(tmp_path):
    inputs = keras.Input((FEATURES,))
    layer = RecordedKernelDense(UNITS, rows_per_block=4, kernel_initializer="random_normal", name="fc")
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    x = np.random.default_rng(0).normal(size=(2, FEATURES)).astype("float32")
    assert restored.get_layer("fc").rows_per_block == 4
    np.testing.assert_array_equal(restored(x), model(x))


def test_a_model_that_names_the_layer_training_recorded_kernel_dense_loads(tmp_path):
    inputs = keras.Input((FEATURES,))
    model = keras.Model(inputs, RecordedKernelDense(UNITS, name="fc")(inputs))
    config = keras.saving.serialize_keras_object(model)
    config["config"]["layers"][1]["registered_name"] = "training>RecordedKernelDense"
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored.get_layer("fc")) is RecordedKernelDense


@pytest.mark.parametrize(
    "use_bias, activation, rows_per_block", [(False, None, None), (True, "relu", None), (True, "relu", 4)]
)
def test_a_recording_gives_the_tapes_gradients_for_a_kernel_used_twice(use_bias, activation, rows_per_block):
    recorded, plain = _pair(rows_per_block, use_bias=use_bias, activation=activation)
    other = tf.Variable(tf.random.normal((3, UNITS), seed=2))
    x = tf.random.normal((3, FEATURES), seed=3)
    tape = tf.GradientTape()
    with tape, KernelGradientRecording(tape) as recording:
        recorded_loss = _twice_used_loss(recorded, x, other)
    with tf.GradientTape() as plain_tape:
        plain_loss = _twice_used_loss(plain, x, other)
    got = recording.gradients(recorded_loss, [*recorded.trainable_variables, other])
    kernel, *rest = plain_tape.gradient(plain_loss, [*plain.trainable_variables, other])
    expected = [*_block_slices(recorded, kernel), *rest]
    assert len(recording.uses) == 1  # one layer, its two uses
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        assert np.abs(reference).max() > 0
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)


def test_a_use_the_loss_ignores_adds_nothing_and_an_untrained_kernel_is_left_out():
    recorded, plain = _pair()
    bystander = RecordedKernelDense(UNITS)
    x = tf.random.normal((2, FEATURES), seed=4)
    tape = tf.GradientTape()
    with tape, KernelGradientRecording(tape) as recording:
        loss = tf.reduce_sum(recorded(x) ** 2)
        recorded(x * 3.0)  # used, but not in the loss
        bystander(x)  # recorded, but its kernel is not among the variables
    with tf.GradientTape() as plain_tape:
        plain_loss = tf.reduce_sum(plain(x) ** 2)
    (kernel_gradient,) = recording.gradients(loss, [recorded.kernel])
    np.testing.assert_allclose(kernel_gradient, plain_tape.gradient(plain_loss, plain.kernel), rtol=1e-6)


@pytest.mark.parametrize(
    "make_optimizer, rows_per_block",
    [(keras.optimizers.Adam, None), (CoupledAdam, None), (CoupledAdam, 4)],
    ids=["keras_adam", "coupled_adam", "coupled_adam_blocked"],
)
def test_apply_gradients_with_a_recording_takes_the_same_step(make_optimizer, rows_per_block):
    """The two Adam steps agree to float32 rounding of the step itself, whether the optimizer is given X^T dY
    (Keras's Adam) or its factors (`ugatit.factored_updates`, with a `CoupledAdam`).

    The steps are compared, not the weights after them: a weight near the step's size ends near 0, where the
    two summation orders' rounding (~1e-8) is large against the result.
    """
    recorded, plain = _pair(rows_per_block, use_bias=True)
    other = {name: tf.Variable(tf.ones((3, UNITS))) for name in ("recorded", "plain")}
    x = tf.random.normal((3, FEATURES), seed=5)
    steps = {}
    for name, layer in (("recorded", recorded), ("plain", plain)):
        optimizer = make_optimizer(0.1)
        variables = [*layer.trainable_variables, other[name]]
        before = [np.array(variable) for variable in variables]
        tape = tf.GradientTape()
        recording = KernelGradientRecording(tape) if name == "recorded" else None
        with tape, recording or contextlib.nullcontext():
            loss = _twice_used_loss(layer, x, other[name])
        if recording is None:
            gradients.apply_gradients(tape, optimizer, loss, variables)
        else:
            apply_recorded_gradients(tape, optimizer, loss, variables, recording)
        steps[name] = [np.array(variable) - start for variable, start in zip(variables, before)]
    kernel_step, *rest = steps["plain"]
    for step, reference in zip(steps["recorded"], [*_block_slices(recorded, kernel_step), *rest], strict=True):
        assert np.abs(reference).max() > 0.05  # Adam's first step is about the learning rate
        np.testing.assert_allclose(step, reference, rtol=1e-5)


def _kernel_sized_matmuls(layer, recording_wanted: bool) -> int:
    """MatMul ops of the kernel's shape in the traced gradient of a loss using `layer` twice."""
    other = tf.Variable(tf.ones((3, UNITS)))
    x = tf.ones((3, FEATURES))

    @tf.function
    def kernel_gradient():
        tape = tf.GradientTape()
        recording = KernelGradientRecording(tape)
        with tape, recording if recording_wanted else contextlib.nullcontext():
            loss = _twice_used_loss(layer, x, other)
        if recording_wanted:
            return recording.gradients(loss, [layer.kernel])
        return tape.gradient(loss, [layer.kernel])

    graph = kernel_gradient.get_concrete_function().graph
    return sum(
        1
        for op in graph.get_operations()
        if op.type in ("MatMul", "BatchMatMulV2") and op.outputs[0].shape.as_list() == [FEATURES, UNITS]
    )


def test_the_recorded_kernel_gradient_is_one_product_where_the_tape_makes_one_per_use():
    recorded, plain = _pair()
    assert _kernel_sized_matmuls(plain, recording_wanted=False) == 2
    assert _kernel_sized_matmuls(recorded, recording_wanted=True) == 1
