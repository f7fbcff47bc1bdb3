"""InceptionV3 activations for FID, KID and IS, batched and streamed from a tf.data source.

    extractor = load_inception("imagenet")            # or "path/to/inception.weights.h5"
    activations = extract_activations(extractor, batches, keep_features=True)
    fid_from_moments(activations.moments, other.moments)

`load_inception` gives a function from images in [-1, 1] (any size: they are
resized to 299 bilinearly, as in the reference implementations) to the 2048-d
`avg_pool` features (FID, KID) and the 1000 class probabilities (IS) of
`keras.applications.InceptionV3(include_top=True)`. InceptionV3 expects
inputs in [-1, 1] (its `preprocess_input` maps [0, 255] there), which is
already the range of the project's pipeline and generators.

`classifier_extractor` is the alternative where those weights cannot be had:
the 256-d penultimate features of an attribute classifier of
`evaluation.attributes` (trained on the built-in faces of one domain). Its
FID and KID compare runs with each other on the built-in faces, not with any
published figure, and it has no class probabilities, so no IS.

`extract_activations` runs it batch by batch and keeps only what the metrics
need: the running mean and covariance of the pool features (FID: 2048 +
2048^2 floats however many images), the features themselves only for KID
(8 KB an image) and the probabilities only for IS (4 KB an image). The images
are never held beyond their batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from evaluation.attributes import PENULTIMATE_LAYER
from evaluation.metrics import RunningMoments

INCEPTION_SIZE = 299
POOL_LAYER = "avg_pool"
POOL_DIMENSIONS = 2048
IMAGENET_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
IMAGENET_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + IMAGENET_WEIGHTS_FILE
)
IMAGENET_WEIGHTS_HASH = "9a0d58056eeedaa3f26cb7ebd46da564"  # what keras.applications checks

# images [B, H, W, 3] in [-1, 1] -> (pool features [B, 2048], class probabilities [B, classes])
Extractor = Callable[[tf.Tensor], tuple]


class ExtractorSetupError(ValueError):
    """Weights that cannot be found or loaded; reported as one line."""


def keras_cache_path() -> Path:
    """Where Keras keeps (and `keras.applications` looks for) the ImageNet InceptionV3 weights."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / IMAGENET_WEIGHTS_FILE


def imagenet_weights_path() -> str:
    """The cached ImageNet weights, downloaded into the Keras cache if they are not there yet."""
    try:
        return keras.utils.get_file(
            IMAGENET_WEIGHTS_FILE, IMAGENET_WEIGHTS_URL, cache_subdir="models", file_hash=IMAGENET_WEIGHTS_HASH
        )
    except Exception as error:  # urllib raises many types: no route, DNS, HTTP, timeouts, hash mismatch
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExtractorSetupError(
            f"--inception_weights=imagenet: {keras_cache_path()} is not in the Keras cache and could not be "
            f"downloaded ({reason}); copy it there from a machine with network access, or pass "
            "--inception_weights=PATH.weights.h5"
        ) from error


def build_inception(weights: str = "imagenet", input_size: int = INCEPTION_SIZE) -> keras.Model:
    """InceptionV3(include_top=True) with two outputs: [the `avg_pool` features, the class probabilities].

    `weights`: "imagenet" (the Keras cache, downloaded if absent and possible)
    or a `.weights.h5` file of `keras.applications.InceptionV3(include_top=True,
    weights=None)`. `input_size` other than 299 (at least 75) only works
    without ImageNet weights: it exists so tests can use a small network.
    """
    if weights == "imagenet":
        if input_size != INCEPTION_SIZE:
            raise ExtractorSetupError(f"the ImageNet weights need input_size={INCEPTION_SIZE}, got {input_size}")
        imagenet_weights_path()
        base = keras.applications.InceptionV3(include_top=True, weights="imagenet")
    else:
        base = keras.applications.InceptionV3(include_top=True, weights=None, input_shape=(input_size, input_size, 3))
        _load_weights_file(base, weights)
    return keras.Model(base.input, [base.get_layer(POOL_LAYER).output, base.output], name="inception_features")


def _load_weights_file(model: keras.Model, path: str) -> None:
    path = Path(path)
    if not path.is_file():
        raise ExtractorSetupError(
            f"--inception_weights={path}: no such file (expected 'imagenet' or a "
            ".weights.h5 file of keras.applications.InceptionV3(include_top=True))"
        )
    if not path.name.endswith(".weights.h5"):
        raise ExtractorSetupError(f"--inception_weights={path}: expected a .weights.h5 file (model.save_weights)")
    try:
        model.load_weights(path)
    except Exception as error:  # h5py and Keras raise ValueError, KeyError, OSError for foreign files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ExtractorSetupError(
            f"--inception_weights={path}: not the weights of InceptionV3(include_top=True): {reason}"
        ) from error


def load_inception(weights: str = "imagenet", input_size: int = INCEPTION_SIZE) -> Extractor:
    """A compiled function: images [B, H, W, 3] in [-1, 1] -> (pool features [B, 2048], probabilities [B, 1000])."""
    model = build_inception(weights, input_size)

    # One trace for every batch size and image size (the last batch is usually smaller).
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def extract(images):
        images = tf.image.resize(images, [input_size, input_size], method="bilinear")
        pool, probabilities = model(images, training=False)
        return pool, probabilities

    return extract


def classifier_extractor(classifier: keras.Model) -> Extractor:
    """A compiled function: images [B, H, W, 3] in [-1, 1] -> (the classifier's penultimate features [B, 256],
    an empty [B, 0] in place of class probabilities).

    Images are resized to the classifier's input side bilinearly, as `load_inception` resizes to 299.
    """
    side = int(classifier.input_shape[1])
    penultimate = keras.Model(classifier.input, classifier.get_layer(PENULTIMATE_LAYER).output)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def extract(images):
        features = penultimate(tf.image.resize(images, [side, side], method="bilinear"), training=False)
        return features, tf.zeros([tf.shape(images)[0], 0])

    return extract


@dataclass
class Activations:
    """What `extract_activations` kept of one image set."""

    count: int = 0
    moments: RunningMoments | None = None
    features: np.ndarray | None = None  # [N, 2048] float32, with keep_features
    probabilities: np.ndarray | None = None  # [N, classes] float32, with keep_probabilities
    _feature_batches: list = field(default_factory=list, repr=False)
    _probability_batches: list = field(default_factory=list, repr=False)


def _images_of(batch):
    """A batch of images, or the "image" entry of a batch of records (`load_domain(with_metadata=True)`)."""
    return batch["image"] if isinstance(batch, dict) else batch


def extract_activations(
    extractor: Extractor,
    batches,
    *,
    moments: bool = True,
    keep_features: bool = False,
    keep_probabilities: bool = False,
    max_images: int | None = None,
    description: str = "images",
    progress: bool = True,
) -> Activations:
    """Runs `extractor` over `batches` (an iterable of [B, H, W, 3] in [-1, 1], e.g. a tf.data.Dataset).

    Stops after `max_images` (None: when the batches end). Keeps the running
    moments of the pool features, and the features / probabilities as asked.
    """
    result = Activations()
    with tqdm(total=max_images, unit="img", desc=description, disable=not progress, leave=False) as bar:
        for batch in batches:
            images = tf.convert_to_tensor(_images_of(batch), tf.float32)
            if max_images is not None:
                images = images[: max_images - result.count]
            if not len(images):
                break
            pool, probabilities = (np.asarray(part, np.float32) for part in extractor(images))
            if moments:
                if result.moments is None:
                    result.moments = RunningMoments(pool.shape[1])
                result.moments.update(pool)
            if keep_features:
                result._feature_batches.append(pool)
            if keep_probabilities:
                result._probability_batches.append(probabilities)
            result.count += len(images)
            bar.update(len(images))
            if max_images is not None and result.count >= max_images:
                break
    if keep_features and result._feature_batches:
        result.features = np.concatenate(result._feature_batches)
    if keep_probabilities and result._probability_batches:
        result.probabilities = np.concatenate(result._probability_batches)
    result._feature_batches, result._probability_batches = [], []
    return result
