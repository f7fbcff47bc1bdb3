"""The TFDS source through the real `tfds.load`, on a tiny builder prepared offline."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from preprocessing.annotation_table import LANDMARK_COLUMNS
from preprocessing.sources import SourceError, load_source

LANDMARK_KEYS = list(LANDMARK_COLUMNS)


class TinyCelebALike(tfds.core.GeneratorBasedBuilder):
    """Three records with celeb_a's feature layout (image, landmarks dict, boolean attributes)."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(22, 18, 3)),
                    "landmarks": {key: np.int64 for key in LANDMARK_KEYS},
                    "attributes": {"Smiling": np.bool_, "Eyeglasses": np.bool_},
                }
            )
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for index in range(3):
            yield (
                index,
                {
                    "image": np.full((22, 18, 3), 50 * index, np.uint8),
                    "landmarks": {key: 10 * index + k for k, key in enumerate(LANDMARK_KEYS)},
                    "attributes": {"Smiling": index % 2 == 1, "Eyeglasses": index == 2},
                },
            )


def test_tfds_source_converts_celeba_style_records(tmp_path):
    source = load_source("tfds:tiny_celeb_a_like:train", tfds_data_dir=str(tmp_path))
    records = sorted(source.dataset.as_numpy_iterator(), key=lambda r: int(r["image"][0, 0, 0]))
    assert source.num_records == 3
    for index, record in enumerate(records):
        assert record["image"].shape == (22, 18, 3)
        assert record["image"].dtype == np.uint8
        expected = (10 * index + np.arange(10)).reshape(5, 2)  # (x, y) per point, CelebA order
        np.testing.assert_array_equal(record["landmarks"], expected.astype(np.float32))
        assert record["attributes"]["Smiling"] == index % 2
        assert record["attributes"]["Eyeglasses"] == (index == 2)
        assert record["attributes"]["Smiling"].dtype == np.int32


def test_tfds_split_slicing_is_passed_through(tmp_path):
    source = load_source("tfds:tiny_celeb_a_like:train[:2]", tfds_data_dir=str(tmp_path))
    assert len(list(source.dataset)) == 2


def test_tfds_dataset_that_cannot_be_downloaded_gives_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match=r"celeb_a.*copy the data directory"):
        load_source("tfds:celeb_a:train", tfds_data_dir=str(tmp_path), tfds_download=False)
