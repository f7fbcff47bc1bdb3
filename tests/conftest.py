"""Fixtures every test package can use."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.training import toy_gan
from training import registry

# Tests run InceptionV3 at its smallest input; the weights do not depend on the size.
SMALL_INCEPTION_SIZE = 75


@pytest.fixture
def registered_toy(monkeypatch):
    """The toy GAN registered beside the installed models, for this test only."""
    registry.discover()  # first, so the restored registry has discovered them too
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))
    registry.register(toy_gan.MODEL)
    return toy_gan.MODEL


@pytest.fixture(scope="session")
def face_models():
    """The real MediaPipe models (`make install` fetches them); a clear failure when they are missing."""
    from preprocessing import models
    from preprocessing.face_models import FaceDetector, FaceMesh, PersonSegmenter

    try:
        return SimpleNamespace(segmenter=PersonSegmenter.load(), detector=FaceDetector.load(), mesh=FaceMesh.load())
    except models.ModelUnavailableError as error:
        pytest.fail(f"{error} (make install does it)", pytrace=False)


@pytest.fixture
def synthetic_photo_folder(tmp_path) -> Path:
    """8 synthetic photos at 128 px with their annotations.csv (true landmarks), as preprocessing.synthetic writes."""
    from preprocessing import synthetic

    folder = tmp_path / "photos"
    synthetic.write_records("photo", 8, folder, size=128, seed=0, start_index=0)
    return folder


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory) -> Path:
    """A .weights.h5 file of keras.applications.InceptionV3(include_top=True, weights=None): no download."""
    import keras

    path = tmp_path_factory.mktemp("inception") / "inception_v3_random.weights.h5"
    keras.utils.set_random_seed(0)
    keras.applications.InceptionV3(include_top=True, weights=None).save_weights(path)
    return path
