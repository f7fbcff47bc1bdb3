"""training.kernel_gradients: a Dense kernel's gradient over all its uses, built as one product X^T dY."""

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import gradients
from training.kernel_gradients import KernelGradientRecording, RecordedKernelDense

FEATURES, UNITS = 6, 4


@pytest.fixture(autouse=True)
def fixed_seed():
    """Each test draws the same weights and inputs whatever ran before it (some draws leave every ReLU dead)."""
    keras.utils.set_random_seed(0)


def _pair(**options):
    """A RecordedKernelDense and a keras Dense with the same weights, both built."""
    recorded = RecordedKernelDense(UNITS, **options)
    plain = keras.layers.Dense(UNITS, **options)
    for layer in (recorded, plain):
        layer.build((None, FEATURES))
    plain.set_weights(recorded.get_weights())
    return recorded, plain


def _twice_used_loss(layer, x, other_weights):
    """A loss that uses `layer` twice, the second time on a function of its first output and another weight."""
    first = layer(x)
    second = layer(tf.concat([first, first * other_weights], axis=-1)[:, :FEATURES])
    return tf.reduce_sum(first**2) + tf.reduce_sum(tf.sin(second))


def test_outside_a_recording_it_is_keras_dense_and_the_tape_differentiates_its_kernel():
    recorded, plain = _pair(activation="tanh")
    x = tf.random.normal((3, FEATURES), seed=1)
    with tf.GradientTape(persistent=True) as tape:
        outputs = {"recorded": recorded(x), "plain": plain(x)}
        losses = {name: tf.reduce_sum(value**2) for name, value in outputs.items()}
    np.testing.assert_allclose(outputs["recorded"], outputs["plain"], rtol=1e-6)
    np.testing.assert_allclose(
        tape.gradient(losses["recorded"], recorded.kernel), tape.gradient(losses["plain"], plain.kernel), rtol=1e-6
    )


@pytest.mark.parametrize("use_bias, activation", [(False, None), (True, "relu")])
def test_a_recording_gives_the_tapes_gradients_for_a_kernel_used_twice(use_bias, activation):
    recorded, plain = _pair(use_bias=use_bias, activation=activation)
    other = tf.Variable(tf.random.normal((3, UNITS), seed=2))
    x = tf.random.normal((3, FEATURES), seed=3)
    tape = tf.GradientTape()
    with tape, KernelGradientRecording(tape) as recording:
        recorded_loss = _twice_used_loss(recorded, x, other)
    with tf.GradientTape() as plain_tape:
        plain_loss = _twice_used_loss(plain, x, other)
    got = recording.gradients(recorded_loss, [*recorded.trainable_variables, other])
    expected = plain_tape.gradient(plain_loss, [*plain.trainable_variables, other])
    assert len(recording.uses) == 1  # one kernel, its two uses
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


def test_apply_gradients_with_a_recording_takes_the_same_step():
    """The two Adam steps agree to float32 rounding of the step itself.

    The steps are compared, not the weights after them: a weight near the step's size ends near 0, where the
    two summation orders' rounding (~1e-8) is large against the result.
    """
    recorded, plain = _pair(use_bias=True)
    other = {name: tf.Variable(tf.ones((3, UNITS))) for name in ("recorded", "plain")}
    x = tf.random.normal((3, FEATURES), seed=5)
    steps = {}
    for name, layer in (("recorded", recorded), ("plain", plain)):
        optimizer = keras.optimizers.Adam(0.1)
        variables = [*layer.trainable_variables, other[name]]
        before = [np.array(variable) for variable in variables]
        tape = tf.GradientTape()
        recording = KernelGradientRecording(tape) if name == "recorded" else None
        with tape, recording or contextlib.nullcontext():
            loss = _twice_used_loss(layer, x, other[name])
        gradients.apply_gradients(tape, optimizer, loss, variables, recording)
        steps[name] = [np.array(variable) - start for variable, start in zip(variables, before)]
    for step, reference in zip(steps["recorded"], steps["plain"]):
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
