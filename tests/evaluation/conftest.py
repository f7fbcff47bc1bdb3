"""Shared fixtures of the evaluation tests: a small stand-in extractor, a tiny classifier, a CLI runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def small_extractor():
    """A small random conv net with the extractor's interface: images -> (8-d "pool" features, 10 probabilities).

    FID on InceptionV3's 2048-d features spends ~20 s in one sqrtm on one core; 8-d features take no time.
    """
    keras.utils.set_random_seed(0)
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(images)
    pool = keras.layers.GlobalAveragePooling2D()(x)
    probabilities = keras.layers.Dense(10, activation="softmax")(pool)
    model = keras.Model(images, [pool, probabilities])
    return lambda batch: model(batch, training=False)


def run_cli(module: str, *arguments, check: bool = True, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m module arguments...` from the repository root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, arguments)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


# Cartoons at 32 px and two colour attributes: a classifier learns them in a few seconds.
TINY_CLASSIFIER = dict(
    domain="cartoon",
    image_size=32,
    attributes=("skin_tone", "hair_color"),
    num_train_images=480,
    epochs=10,
    batch_size=32,
    num_oracle_images=160,
)


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory):
    """A cartoon attribute classifier trained with TINY_CLASSIFIER, and its cache folder."""
    from evaluation import attributes

    cache_dir = tmp_path_factory.mktemp("classifiers")
    trained = attributes.load_or_train(attributes.ClassifierSettings(**TINY_CLASSIFIER), cache_dir, verbose=0)
    return trained, cache_dir
