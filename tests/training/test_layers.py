"""training.layers: reflection padding and instance normalisation as PyTorch's, the shared initialiser."""

from __future__ import annotations

import keras
import numpy as np
import pytest

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
