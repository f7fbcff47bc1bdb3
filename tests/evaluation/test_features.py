"""The InceptionV3 extractor: weights loading, its outputs, and streaming activations over a tf.data source."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from evaluation import features, metrics
from tests.conftest import SMALL_INCEPTION_SIZE


@pytest.fixture(scope="module")
def extractor(inception_weights):
    return features.load_inception(str(inception_weights), input_size=SMALL_INCEPTION_SIZE)


def test_extractor_gives_pool_features_and_class_probabilities_for_any_image_size(extractor):
    for size in (32, 64):
        pool, probabilities = extractor(tf.random.uniform([3, size, size, 3], -1, 1, seed=0))
        assert pool.shape == (3, features.POOL_DIMENSIONS) and probabilities.shape == (3, 1000)
        np.testing.assert_allclose(np.sum(probabilities, axis=1), 1.0, rtol=1e-5)
        assert np.all(np.asarray(pool) >= 0)  # avg_pool of ReLU activations


def test_the_weights_come_from_the_file(inception_weights, extractor):
    keras.utils.set_random_seed(123)  # another random initialisation, which loading the file must overwrite
    model = features.build_inception(str(inception_weights), SMALL_INCEPTION_SIZE)
    images = tf.random.uniform([2, SMALL_INCEPTION_SIZE, SMALL_INCEPTION_SIZE, 3], -1, 1, seed=1)
    pool, probabilities = model(images, training=False)
    expected_pool, expected_probabilities = extractor(images)
    np.testing.assert_allclose(pool, expected_pool, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(probabilities, expected_probabilities, rtol=1e-4, atol=1e-7)


def test_streaming_activations_equal_one_big_batch(extractor):
    images = np.random.default_rng(1).uniform(-1, 1, (23, 40, 40, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(5)
    streamed = features.extract_activations(
        extractor, dataset, keep_features=True, keep_probabilities=True, progress=False
    )
    pool, probabilities = extractor(images)
    assert streamed.count == 23
    np.testing.assert_allclose(streamed.features, pool, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(streamed.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(streamed.moments.mean, np.mean(pool, axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        streamed.moments.covariance, np.cov(np.asarray(pool, np.float64), rowvar=False), rtol=1e-3, atol=1e-8
    )


def test_extraction_stops_at_max_images_and_keeps_only_what_is_asked(extractor):
    images = tf.data.Dataset.from_tensors(tf.zeros([8, 32, 32, 3])).repeat()  # endless
    found = features.extract_activations(extractor, images, max_images=13, progress=False)
    assert found.count == 13 and found.moments.count == 13
    assert found.features is None and found.probabilities is None


def test_fid_kid_and_is_end_to_end_from_a_tf_data_source(small_extractor):
    """Images -> streamed activations -> scores, with a small random extractor (its FID needs no 2048-d sqrtm)."""
    rng = np.random.default_rng(2)
    dark = rng.uniform(-1, -0.2, (40, 32, 32, 3)).astype("float32")
    bright = rng.uniform(0.2, 1, (40, 32, 32, 3)).astype("float32")

    def activations(images):
        return features.extract_activations(
            small_extractor,
            tf.data.Dataset.from_tensor_slices(images).batch(16),
            keep_features=True,
            keep_probabilities=True,
            progress=False,
        )

    dark_activations, bright_activations = activations(dark), activations(bright)
    identical = metrics.fid_from_moments(dark_activations.moments, dark_activations.moments)
    assert identical.mean == pytest.approx(0, abs=1e-6)
    assert metrics.fid_from_moments(dark_activations.moments, bright_activations.moments).mean > 1e-3
    assert metrics.fid(dark_activations.features, bright_activations.features).mean == pytest.approx(
        metrics.fid_from_moments(dark_activations.moments, bright_activations.moments).mean, rel=1e-6
    )
    same = metrics.kid(dark_activations.features[:20], dark_activations.features[20:], subsets=5, subset_size=15)
    different = metrics.kid(dark_activations.features, bright_activations.features, subsets=5, subset_size=15)
    assert different.mean > 10 * abs(same.mean)
    inception_score = metrics.inception_score(dark_activations.probabilities, splits=4)
    assert 1.0 <= inception_score.mean <= 10 and inception_score.counts == (40,)


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # Keras, on the foreign file
def test_a_missing_or_foreign_weights_file_is_a_one_line_error(tmp_path):
    with pytest.raises(features.ExtractorSetupError, match="no such file"):
        features.build_inception(str(tmp_path / "absent.weights.h5"), SMALL_INCEPTION_SIZE)
    foreign = tmp_path / "dense.weights.h5"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save_weights(foreign)
    with pytest.raises(features.ExtractorSetupError, match="not the weights of InceptionV3"):
        features.build_inception(str(foreign), SMALL_INCEPTION_SIZE)


def test_imagenet_weights_that_cannot_be_downloaded_are_a_one_line_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] no network")

    monkeypatch.setattr(features.keras.utils, "get_file", offline)
    with pytest.raises(features.ExtractorSetupError) as error:
        features.build_inception("imagenet")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("--inception_weights=imagenet: ") and features.IMAGENET_WEIGHTS_FILE in message
    assert "--inception_weights=PATH.weights.h5" in message


def test_the_classifier_extractor_gives_the_penultimate_relu_features_at_the_classifier_size(tiny_classifier):
    trained, _ = tiny_classifier
    classifier = trained.classifier
    extract = features.classifier_extractor(classifier)
    side = classifier.input_shape[1]
    images = tf.random.uniform([4, side, side, 3], -1, 1, seed=2)

    found, probabilities = extract(images)

    flattened = keras.Model(classifier.input, classifier.get_layer("flatten").output)(images)
    kernel, bias = (np.asarray(weight) for weight in classifier.get_layer("fc").get_weights())
    np.testing.assert_allclose(found, np.maximum(np.asarray(flattened) @ kernel + bias, 0), rtol=1e-4, atol=1e-5)
    assert probabilities.shape == (4, 0)
    larger = tf.image.resize(images, [2 * side, 2 * side], method="nearest")  # resized back to side, exactly
    np.testing.assert_allclose(extract(larger)[0], found, rtol=1e-4, atol=1e-5)
