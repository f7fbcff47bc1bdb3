"""The attribute classifiers: they learn what the synthetic faces show, and are cached and reused."""

import dataclasses
import json

import numpy as np
import pytest

from evaluation import attributes
from preprocessing import synthetic
from tests.evaluation.conftest import TINY_CLASSIFIER


def test_a_tiny_classifier_learns_colour_attributes_well_above_chance(tiny_classifier):
    trained, _ = tiny_classifier
    assert not trained.cached and trained.oracle_count == TINY_CLASSIFIER["num_oracle_images"]
    for name in TINY_CLASSIFIER["attributes"]:
        # Flat cartoon colours, 5 variants each: chance is 0.2.
        assert trained.oracle[name] > attributes.chance_level(name) + 0.4, (name, trained.oracle)


def test_the_classifier_is_cached_and_reused_while_its_settings_match(tiny_classifier):
    trained, cache_dir = tiny_classifier
    model_path, metadata_path = attributes.cache_paths(cache_dir, trained.settings)
    metadata = json.loads(metadata_path.read_text())
    assert model_path.is_file() and metadata["oracle"] == trained.oracle
    assert metadata["held_out_seed"] == attributes.HELD_OUT_SEED != metadata["training_seed"]

    again = attributes.load_or_train(trained.settings, cache_dir)  # would take seconds if it trained
    assert again.cached and again.oracle == trained.oracle
    images = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    for name, predicted in attributes.predict_attributes(again.classifier, images).items():
        np.testing.assert_array_equal(predicted, attributes.predict_attributes(trained.classifier, images)[name])

    for changed in ({"epochs": 5}, {"attributes": ("skin_tone",)}, {"image_size": 64}):
        assert attributes.load_cached(dataclasses.replace(trained.settings, **changed), cache_dir) is None


def test_classifiers_of_each_size_and_photo_look_have_files_of_their_own(tmp_path):
    """Models of 64 and 96 px, of photos painted white or cropped, scored with one cache folder: none overwrites
    another's classifiers."""
    looks = [("keep", "none"), ("white", "none"), ("white", "bbox"), ("keep", "center")]
    settings = [attributes.ClassifierSettings("photo", 64, photos=attributes.PhotoLook(*look)) for look in looks]
    settings += [attributes.ClassifierSettings("photo", 96, photos=attributes.PhotoLook("white"))]
    settings += [attributes.ClassifierSettings("cartoon", size) for size in (64, 96)]
    names = {attributes.cache_paths(tmp_path, each)[0].name for each in settings}
    assert names == {
        "photo_64px_classifier.keras",
        "photo_64px_white_classifier.keras",
        "photo_64px_white_bbox_classifier.keras",
        "photo_64px_center_classifier.keras",
        "photo_96px_white_classifier.keras",
        "cartoon_64px_classifier.keras",
        "cartoon_96px_classifier.keras",
    }


def test_the_oracle_is_measured_on_records_the_classifier_never_trained_on():
    assert attributes.HELD_OUT_SEED != attributes.CLASSIFIER_SEED
    assert min(attributes.HELD_OUT_SEED, attributes.CLASSIFIER_SEED) >= attributes.SEEDS_RESERVED
    batches = attributes.attribute_batches("cartoon", 5, 32, 5, attributes.HELD_OUT_SEED, ("glasses", "hair_style"))
    images, labels = next(iter(batches))
    assert images.shape == (5, 32, 32, 3) and float(images.numpy().min()) >= -1.0
    expected = [synthetic.sample_attributes(attributes.HELD_OUT_SEED, index)["glasses"] for index in range(5)]
    assert labels["glasses"].numpy().tolist() == expected


def test_chance_is_one_over_the_variants():
    assert attributes.chance_level("hair_style") == pytest.approx(1 / 7)
    assert attributes.chance_level("glasses") == pytest.approx(1 / 4)


def test_unknown_attributes_and_domains_are_refused():
    with pytest.raises(attributes.ClassifierSetupError, match="--attributes: unknown beard_length"):
        attributes.ClassifierSettings(domain="cartoon", attributes=("skin_tone", "beard_length"))
    with pytest.raises(attributes.ClassifierSetupError, match="unknown domain 'anime'"):
        attributes.ClassifierSettings(domain="anime")
