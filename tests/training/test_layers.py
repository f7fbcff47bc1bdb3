"""training.layers: reflection padding and instance normalisation as PyTorch's, the shared initialiser."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import layers


def test_instance_normalization_has_no_weights_and_matches_numpy():
    x = np.random.default_rng(1).normal(3.0, 2.0, (2, 5, 7, 4)).astype(np.float32)
    layer = layers.instance_normalization("norm")

    normalized = keras.ops.convert_to_numpy(layer(x))

    mean = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
    variance = x.astype(np.float64).var(axis=(1, 2), keepdims=True)  # biased, as InstanceNorm2d
    np.testing.assert_allclose(normalized, (x - mean) / np.sqrt(variance + 1e-5), rtol=1e-4, atol=1e-5)
    assert layer.weights == []
    assert layer.name == "norm"


@pytest.mark.parametrize("padding", [1, 3])
def test_reflection_padding_matches_numpy(padding):
    x = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    padded = keras.ops.convert_to_numpy(layers.ReflectionPadding2D(padding)(x))
    expected = np.pad(x, [(0, 0), (padding, padding), (padding, padding), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(padded, expected)


def test_reflection_padding_output_shape_keeps_unknown_sizes():
    layer = layers.ReflectionPadding2D(3)
    assert layer.compute_output_shape((None, None, None, 8)) == (None, None, None, 8)
    assert layer.compute_output_shape((4, 10, 12, 8)) == (4, 16, 18, 8)
    assert tuple(layer(keras.Input((None, 12, 8))).shape) == (None, None, 18, 8)


def test_reflection_padding_config_round_trip():
    layer = layers.ReflectionPadding2D(3, name="pad")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, layers.ReflectionPadding2D)
    assert (restored.padding, restored.name) == (3, "pad")


def test_weight_initializer_is_normal_002_and_fresh_each_call():
    first, second = layers.weight_initializer(), layers.weight_initializer()
    assert first is not second
    assert first.get_config()["mean"] == 0.0 and first.get_config()["stddev"] == 0.02
    a, b = (keras.ops.convert_to_numpy(initializer((256, 256))) for initializer in (first, second))
    assert not np.array_equal(a, b)
    assert abs(a.mean()) < 1e-3 and a.std() == pytest.approx(0.02, rel=0.01)


def _stage_layers():
    return [
        layers.ReflectionPadding2D(1, name="pad"),
        keras.layers.Conv2D(4, 3, kernel_initializer=layers.weight_initializer(), name="conv"),
        layers.instance_normalization("norm"),
        keras.layers.ReLU(name="relu"),
    ]


def _stage_model(rematerialized: bool) -> keras.Model:
    """A pad/conv/norm/ReLU stage, as a RematerializedSequence or as plain layers, then a 1x1 conv."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    if rematerialized:
        x = layers.RematerializedSequence(_stage_layers(), name="stage")(inputs)
    else:
        x = inputs
        for layer in _stage_layers():
            x = layer(x)
    return keras.Model(inputs, keras.layers.Conv2D(2, 1, name="out")(x))


def _traced_gradients(model: keras.Model, x) -> tuple[list, int]:
    """The gradients of a loss on `model(x)`, and how many Conv2D ops (forward convolutions) the traced
    step holds, in its graph and in the functions it calls (where a recomputation lives)."""

    @tf.function
    def gradients():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(model(x)))
        return tape.gradient(loss, model.trainable_variables)

    graph_def = gradients.get_concrete_function().graph.as_graph_def()
    nodes = [*graph_def.node, *(node for function in graph_def.library.function for node in function.node_def)]
    return gradients(), sum(node.op == "Conv2D" for node in nodes)


def test_a_rematerialized_sequence_gives_its_layers_outputs_and_gradients_and_recomputes_them():
    x = tf.random.normal((2, 8, 8, 3), seed=0)
    models = {rematerialized: _stage_model(rematerialized) for rematerialized in (False, True)}
    np.testing.assert_allclose(models[True](x), models[False](x), rtol=1e-5, atol=1e-6)
    (got, convolutions), (expected, plain_convolutions) = (_traced_gradients(models[flag], x) for flag in (True, False))
    for value, reference in zip(got, expected, strict=True):
        assert np.abs(reference).max() > 0
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)
    assert plain_convolutions == 2  # the stage's and the 1x1
    assert convolutions == 3  # and the stage's again, in the backward pass


def test_a_rematerialized_sequence_saves_and_loads(tmp_path):
    model = _stage_model(rematerialized=True)
    model.save(tmp_path / "stage.keras")
    restored = keras.saving.load_model(tmp_path / "stage.keras")
    x = np.random.default_rng(1).normal(size=(1, 8, 8, 3)).astype("float32")
    assert [layer.name for layer in restored.get_layer("stage").stage_layers] == ["pad", "conv", "norm", "relu"]
    np.testing.assert_array_equal(restored(x), model(x))


def test_instance_normalize_matches_numpy_and_its_written_gradient_matches_autodiff():
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, (2, 5, 6, 4)).astype("float32"))
    weights = tf.constant(rng.normal(0.0, 1.0, (2, 5, 6, 4)).astype("float32"))

    def recorded(images):  # the same formula, differentiated by the tape
        mean, variance = tf.nn.moments(images, [1, 2], keepdims=True)
        return (images - mean) * tf.math.rsqrt(variance + layers.INSTANCE_NORM_EPSILON)

    gradients = []
    for normalize in (layers.instance_normalize, recorded):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(normalize(x) * weights)
        gradients.append(tape.gradient(loss, x).numpy())
    array = x.numpy()
    expected = (array - array.mean((1, 2), keepdims=True)) / np.sqrt(array.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(layers.instance_normalize(x).numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(gradients[0], gradients[1], atol=1e-5)
    assert np.abs(gradients[0]).max() > 0.1


def test_instance_normalize_keeps_a_bfloat16_input_in_bfloat16():
    x = tf.random.normal((1, 4, 4, 2), seed=1)
    normalized = layers.instance_normalize(tf.cast(x, "bfloat16"))
    assert normalized.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(normalized, "float32").numpy(), layers.instance_normalize(x).numpy(), atol=0.05)
