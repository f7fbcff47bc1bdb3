"""Attribute classifiers of the synthetic domains: the eyes `evaluation.semantics` reads translations with.

The built-in faces know the attributes of every record (`preprocessing.synthetic`:
each drawn uniformly from its variants). One small CNN per domain learns to
read them back from real images of that domain, one softmax head per
attribute:

    image [S, S, 3] in [-1, 1] -> 4 x (conv 3x3 + ReLU, 2x2 max pool)
        -> flatten -> dropout -> dense 256 ReLU -> {attribute: softmax over its variants}

It trains on records of CLASSIFIER_SEED and is scored on the first records
of HELD_OUT_SEED: its held-out accuracy per attribute is the *oracle*, the
accuracy a perfect translator would get (record i of a seed is the same
person in both domains, so the held-out images of the target domain are
exactly the translations a perfect model would make). Models train on
records of their --seed and --seed + 1, so any run with --seed below
SEEDS_RESERVED never saw these records.

A trained classifier is cached as `<cache_dir>/<name>.keras` beside
`<name>.json` (its settings and oracle accuracies) and reused while the
settings match; the name says its domain, image size and, for photos, their
look (`photo_96px_white_classifier`, `photo_64px_white_bbox_classifier`,
`cartoon_64px_classifier`), so models of several sizes share one cache folder
without retraining each other's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from preprocessing import synthetic
from preprocessing.pipeline import BACKGROUNDS, CROPS, load_domain

# Attributes a 64-px image shows in both domains: colours and large shapes. Measured oracles at the
# defaults: the cartoon classifier reads eye_color (0.80), face_shape (1.0) and mouth_expression (0.78)
# too, but in 64-px photos the eyes are ~2 px (eye_color stayed at chance, 0.24 for 0.25),
# eyebrow_thickness is at chance in both and the photo's pose jitter blurs the face shape. Any of
# them can still be asked for with --attributes.
DEFAULT_ATTRIBUTES = ("skin_tone", "hair_color", "hair_style", "glasses", "facial_hair")
SEEDS_RESERVED = 90_000
CLASSIFIER_SEED = 90_001
HELD_OUT_SEED = 90_002
CONV_FILTERS = (16, 32, 64, 128)
DENSE_UNITS = 256
PENULTIMATE_LAYER = "fc"  # the DENSE_UNITS features the heads read: `evaluation.score --features` uses them
DROPOUT = 0.3
LEARNING_RATE = 1e-3
CACHE_VERSION = 1  # bump when the architecture or the training recipe changes


class ClassifierSetupError(ValueError):
    """Unknown attributes or domains; reported as one line."""


@dataclasses.dataclass(frozen=True)
class PhotoLook:
    """How a run prepared its photos (its `--*_background` and `--*_crop`): the held-out photos a translator
    reads and the photos a photo classifier learns from are prepared alike. Cartoons are drawn on white and
    fill their frame, so they are always read as they are."""

    background: str = "keep"
    crop: str = "none"

    def __post_init__(self):
        if self.background not in BACKGROUNDS:
            raise ClassifierSetupError(f"photo background must be one of {BACKGROUNDS}, got {self.background!r}")
        if self.crop not in CROPS:
            raise ClassifierSetupError(f"photo crop must be one of {CROPS}, got {self.crop!r}")

    def name_suffix(self) -> str:
        """ "" for photos as drawn, else "_white", "_bbox", "_white_bbox"...: the parts of a cache name."""
        parts = [part for part, as_drawn in ((self.background, "keep"), (self.crop, "none")) if part != as_drawn]
        return "".join(f"_{part}" for part in parts)


AS_DRAWN = PhotoLook()


@dataclasses.dataclass(frozen=True)
class ClassifierSettings:
    """Everything a cached classifier must match to be reused."""

    domain: str
    image_size: int = 64
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES
    # Photos vary in pose, light and background: on 3000 images x 12 epochs the photo classifier
    # overfit (skin_tone 0.86 on its training images, 0.72 held out); 10000 x 4 reached 0.83. The
    # records are free to draw, so more images beat more epochs.
    num_train_images: int = 10_000
    epochs: int = 5
    batch_size: int = 64
    num_oracle_images: int = 1000
    # Photos as the models scored saw them: e.g. painted white outside the face (--face_background=white) and
    # cropped to it (--face_crop=bbox). A cartoon classifier never sees a photo: AS_DRAWN.
    photos: PhotoLook = AS_DRAWN
    seed: int = 0  # of the weights' initialisation and the shuffling
    version: int = CACHE_VERSION

    def __post_init__(self):
        if self.domain not in synthetic.DOMAINS:
            raise ClassifierSetupError(
                f"unknown domain {self.domain!r}; expected one of {', '.join(synthetic.DOMAINS)}"
            )
        check_attribute_names(self.attributes)
        if self.domain != "photo" and self.photos != AS_DRAWN:
            raise ClassifierSetupError(f"a {self.domain} classifier sees no photos; got photos={self.photos}")

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "attributes": list(self.attributes)}


def check_attribute_names(names) -> tuple[str, ...]:
    names = tuple(names)
    unknown = [name for name in names if name not in synthetic.ATTRIBUTE_VARIANTS]
    if unknown or not names:
        raise ClassifierSetupError(
            f"--attributes: unknown {', '.join(unknown) or '(empty)'}; expected names from "
            f"{', '.join(synthetic.ATTRIBUTE_VARIANTS)}"
        )
    return names


def chance_level(name: str) -> float:
    """1 / variants: every variant is drawn with the same probability, so no guess does better on average."""
    return 1.0 / synthetic.ATTRIBUTE_VARIANTS[name]


def build_classifier(image_size: int, attributes) -> keras.Model:
    """The CNN of the module docstring: images -> {attribute: [B, variants] probabilities}."""
    images = keras.Input((image_size, image_size, 3), name="images")
    x = images
    for index, filters in enumerate(CONV_FILTERS, start=1):
        # No batch norm: in a few hundred steps the weights move faster than its moving averages, and
        # in inference mode a classifier at 0.95 on its training batches read held-out images at chance.
        x = keras.layers.Conv2D(
            filters, 3, padding="same", activation="relu", kernel_initializer="he_normal", name=f"conv{index}"
        )(x)
        x = keras.layers.MaxPooling2D(2, name=f"conv{index}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(DROPOUT, name="dropout")(x)
    x = keras.layers.Dense(DENSE_UNITS, activation="relu", name=PENULTIMATE_LAYER)(x)
    outputs = {
        name: keras.layers.Dense(synthetic.ATTRIBUTE_VARIANTS[name], activation="softmax", name=name)(x)
        for name in attributes
    }
    return keras.Model(images, outputs, name="attribute_classifier")


def records(
    domain: str,
    count: int,
    image_size: int,
    batch_size: int,
    seed: int,
    photos: PhotoLook = AS_DRAWN,
    shuffle: bool = False,
) -> tf.data.Dataset:
    """Batches of records 0..count-1 of `seed`, one pass: {"image" in [-1, 1], "attributes": {...}, ...}; photos
    prepared as `photos` says."""
    look = photos if domain == "photo" else AS_DRAWN
    return load_domain(
        f"synthetic:{domain}:{count}",
        image_size=image_size,
        batch_size=batch_size,
        shuffle=shuffle,
        repeat=False,
        drop_remainder=False,
        seed=seed,
        with_metadata=True,
        background=look.background,
        crop=look.crop,
    )


def attribute_batches(
    domain: str,
    count: int,
    image_size: int,
    batch_size: int,
    seed: int,
    attributes,
    photos: PhotoLook = AS_DRAWN,
    shuffle: bool = False,
) -> tf.data.Dataset:
    """(images [B, S, S, 3] in [-1, 1], {attribute: labels [B]}) of records 0..count-1 of `seed`, one pass."""
    dataset = records(domain, count, image_size, batch_size, seed, photos, shuffle)
    return dataset.map(lambda batch: (batch["image"], {name: batch["attributes"][name] for name in attributes}))


def predict_attributes(classifier: keras.Model, images) -> dict:
    """{attribute: predicted variant [B] (int)} for images in [-1, 1]."""
    probabilities = classifier(images, training=False)
    return {name: np.argmax(keras.ops.convert_to_numpy(value), axis=-1) for name, value in probabilities.items()}


def accuracies(classifier: keras.Model, batches) -> tuple[dict, int]:
    """({attribute: fraction of predictions equal to the label}, image count) over (images, labels) batches."""
    correct, count = {}, 0
    for images, labels in batches:
        predicted = predict_attributes(classifier, images)
        for name, values in predicted.items():
            correct[name] = correct.get(name, 0) + int(np.sum(values == np.asarray(labels[name])))
        count += len(images)
    return {name: hits / count for name, hits in correct.items()}, count


def train_classifier(settings: ClassifierSettings, verbose="auto") -> keras.Model:
    """A classifier of `settings.domain` trained on records 0..num_train_images-1 of CLASSIFIER_SEED."""
    keras.utils.set_random_seed(settings.seed)
    classifier = build_classifier(settings.image_size, settings.attributes)
    classifier.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss={name: "sparse_categorical_crossentropy" for name in settings.attributes},
        metrics={name: "accuracy" for name in settings.attributes},
    )
    training = attribute_batches(
        settings.domain,
        settings.num_train_images,
        settings.image_size,
        settings.batch_size,
        CLASSIFIER_SEED,
        settings.attributes,
        settings.photos,
        shuffle=True,
    )
    classifier.fit(training, epochs=settings.epochs, verbose=verbose, shuffle=False)  # the dataset shuffles
    return classifier


@dataclasses.dataclass
class TrainedClassifier:
    classifier: keras.Model
    settings: ClassifierSettings
    oracle: dict  # {attribute: held-out accuracy on real images}
    oracle_count: int
    cached: bool  # loaded from the cache rather than trained now


def cache_paths(cache_dir, settings: ClassifierSettings) -> tuple[Path, Path]:
    """(<cache_dir>/<name>.keras, <cache_dir>/<name>.json), the name <domain>_<size>px[_white][_bbox]_classifier:
    one pair per domain, image size and look of the photos, the settings that differ between the models scored."""
    stem = Path(cache_dir) / f"{settings.domain}_{settings.image_size}px{settings.photos.name_suffix()}_classifier"
    return stem.with_suffix(".keras"), stem.with_suffix(".json")


def load_cached(settings: ClassifierSettings, cache_dir) -> TrainedClassifier | None:
    """The cached classifier of these settings, or None (absent, or trained with other settings)."""
    model_path, metadata_path = cache_paths(cache_dir, settings)
    if not (model_path.is_file() and metadata_path.is_file()):
        return None
    metadata = json.loads(metadata_path.read_text())
    if metadata.get("settings") != settings.to_json():
        print(f"Retraining the {settings.domain} classifier: the cached one in {cache_dir} has other settings.")
        return None
    classifier = keras.saving.load_model(model_path, compile=False)
    return TrainedClassifier(classifier, settings, metadata["oracle"], metadata["oracle_count"], cached=True)


def load_or_train(settings: ClassifierSettings, cache_dir, retrain: bool = False, verbose="auto") -> TrainedClassifier:
    """The cached classifier of `settings`, or a new one, trained, scored on held-out images and cached."""
    found = None if retrain else load_cached(settings, cache_dir)
    if found is not None:
        return found
    classifier = train_classifier(settings, verbose)
    held_out = attribute_batches(
        settings.domain,
        settings.num_oracle_images,
        settings.image_size,
        settings.batch_size,
        HELD_OUT_SEED,
        settings.attributes,
        settings.photos,
    )
    oracle, count = accuracies(classifier, held_out)
    model_path, metadata_path = cache_paths(cache_dir, settings)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    classifier.save(model_path)
    metadata = {
        "settings": settings.to_json(),
        "oracle": oracle,
        "oracle_count": count,
        "held_out_seed": HELD_OUT_SEED,
        "training_seed": CLASSIFIER_SEED,
    }
    metadata_path.write_text(json.dumps(metadata, indent=2) + "\n")
    return TrainedClassifier(classifier, settings, oracle, count, cached=False)
