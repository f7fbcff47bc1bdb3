"""FID, KID and Inception Score of a set of images against a reference set.

usage: python -m evaluation.score --real SOURCE --fake SOURCE [--metrics fid,kid,is]
                                  [--num_images N] [--inception_weights imagenet|PATH.weights.h5]
                                  [--features inception|photo_classifier|cartoon_classifier]

SOURCE is any source spec of the pipeline (folder:PATH, cartoonset:PATH,
tfds:NAME:SPLIT, synthetic:cartoon|photo[:COUNT]); e.g. the folder a
`<model>.translate` CLI wrote against the real target-domain images:

  python -m evaluation.score --real synthetic:cartoon:2000 --fake folder:out/cartoons --metrics fid,kid

Both sets are loaded as in training (crop, resize to --image_size, [-1, 1]),
then resized to 299 for InceptionV3. FID and KID need --real and --fake; IS
is reported for every set given (the real set's is the ceiling to compare
with).

Where the ImageNet InceptionV3 weights cannot be had, --features=
cartoon_classifier (or photo_classifier) computes FID and KID on the
penultimate features of `evaluation.attributes`' classifier of that domain,
trained on the built-in faces at --image_size and cached in
--classifier_cache_dir. Those scores compare runs of this project with each
other; they are not Inception scores, and IS needs InceptionV3.

Every score is printed with the sample counts it used: FID falls as n grows,
so compare FIDs only at equal counts. --output_json also writes them as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import tensorflow as tf
from absl import app, flags

from evaluation import attributes, metrics
from evaluation.features import (
    INCEPTION_SIZE,
    ExtractorSetupError,
    classifier_extractor,
    extract_activations,
    load_inception,
)
from preprocessing.folder_job import EXIT_COMPLETED, EXIT_USAGE
from preprocessing.pipeline import BACKGROUNDS, CROPS, load_domain
from preprocessing.sources import SPEC_HELP

METRICS = ("fid", "kid", "is")
PAIRED_METRICS = ("fid", "kid")
# --features other than InceptionV3 -> the built-in domain whose attribute classifier gives them
CLASSIFIER_FEATURES = {"photo_classifier": "photo", "cartoon_classifier": "cartoon"}
FEATURES = ("inception", *CLASSIFIER_FEATURES)
DEFAULT_CLASSIFIER_CACHE = Path("~/.cache/xgan-toolkit/attribute_classifiers")
FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests can parse into a fresh FlagValues)."""

    def define(define_fn, name, default, *arguments, **kwargs):  # arguments: [enum values,] help
        define_fn(name, default, *arguments, flag_values=flag_values, **kwargs)

    define(flags.DEFINE_string, "real", None, f"The reference images: {SPEC_HELP}.")
    define(flags.DEFINE_string, "fake", None, f"The images to score (e.g. translations): {SPEC_HELP}.")
    define(
        flags.DEFINE_list,
        "metrics",
        list(METRICS),
        "Comma-separated: fid (Fréchet Inception Distance, lower is better), kid (Kernel Inception "
        "Distance, lower is better), is (Inception Score, higher is better).",
    )
    define(
        flags.DEFINE_integer,
        "num_images",
        None,
        "Use at most this many images of each set (default: all; needed for endless synthetic sources).",
        lower_bound=1,
    )
    define(
        flags.DEFINE_integer,
        "image_size",
        64,
        "Side the pipeline crops and resizes every image to before InceptionV3 resizes it to 299: the "
        "resolution the models train at.",
        lower_bound=1,
    )
    define(flags.DEFINE_enum, "real_crop", "none", CROPS, "Crop of the real images (as the training flags).")
    define(flags.DEFINE_enum, "fake_crop", "none", CROPS, "Crop of the fake images (as the training flags).")
    define(flags.DEFINE_integer, "batch_size", 32, "Images per InceptionV3 batch.", lower_bound=1)
    define(
        flags.DEFINE_string,
        "inception_weights",
        "imagenet",
        "imagenet (the Keras cache; downloaded if absent) or a .weights.h5 file of "
        "keras.applications.InceptionV3(include_top=True, weights=None).",
    )
    define(
        flags.DEFINE_integer,
        "inception_size",
        INCEPTION_SIZE,
        "Input side of InceptionV3. Keep 299 for comparable scores; smaller (>= 75) only for quick tests "
        "with non-ImageNet weights.",
        lower_bound=75,
    )
    define(
        flags.DEFINE_enum,
        "features",
        "inception",
        FEATURES,
        "What FID and KID compare: inception (InceptionV3's 2048-d pool features, the standard), or the 256-d "
        "penultimate features of the attribute classifier of the built-in photo or cartoon domain (for runs on "
        "the built-in faces where the ImageNet weights cannot be had; no IS).",
    )
    define(
        flags.DEFINE_string,
        "classifier_cache_dir",
        str(DEFAULT_CLASSIFIER_CACHE),
        "With a *_classifier --features: where the classifier is cached, and trained first if absent.",
    )
    define(
        flags.DEFINE_integer,
        "classifier_train_images",
        attributes.ClassifierSettings.num_train_images,
        "With a *_classifier --features: built-in images the classifier trains on.",
        lower_bound=1,
    )
    define(
        flags.DEFINE_integer,
        "classifier_epochs",
        attributes.ClassifierSettings.epochs,
        "With a *_classifier --features: the classifier's training epochs.",
        lower_bound=1,
    )
    define(
        flags.DEFINE_enum,
        "photo_background",
        "keep",
        BACKGROUNDS,
        "With --features=photo_classifier: the background of the photos it trains on (white: as models trained "
        "with --face_background=white see them).",
    )
    define(
        flags.DEFINE_enum,
        "photo_crop",
        "none",
        CROPS,
        "With --features=photo_classifier: the crop of the photos it trains on (bbox: as models trained with "
        "--face_crop=bbox see them).",
    )
    define(flags.DEFINE_integer, "kid_subsets", metrics.KID_SUBSETS, "KID: number of random subsets.", lower_bound=1)
    define(
        flags.DEFINE_integer,
        "kid_subset_size",
        metrics.KID_SUBSET_SIZE,
        "KID: features drawn from each set per subset (at most the smaller set's count).",
        lower_bound=2,
    )
    define(flags.DEFINE_integer, "is_splits", metrics.IS_SPLITS, "IS: number of splits.", lower_bound=1)
    define(flags.DEFINE_integer, "seed", 0, "Seed of synthetic sources and of the KID subsets.", lower_bound=0)
    define(flags.DEFINE_string, "tfds_data_dir", None, "Where TensorFlow Datasets keeps prepared data.")
    define(flags.DEFINE_string, "output_json", None, "Also write the scores and counts to this JSON file.")


class ScoreSetupError(ValueError):
    """Bad flags or sources; reported as one line."""


def check_metrics(names, real, fake, features: str = "inception") -> list[str]:
    unknown = [name for name in names if name not in METRICS]
    if unknown or not names:
        raise ScoreSetupError(
            f"--metrics: unknown {', '.join(unknown) or '(empty)'}; expected names from {', '.join(METRICS)}"
        )
    if "is" in names and features != "inception":
        raise ScoreSetupError(f"--metrics=is needs --features=inception (--features={features} has no classes)")
    if not fake:
        raise ScoreSetupError("--fake is required")
    paired = [name for name in names if name in PAIRED_METRICS]
    if paired and not real:
        raise ScoreSetupError(f"--real is required for {', '.join(paired)}")
    return list(dict.fromkeys(names))


def image_batches(spec: str, flag_values, crop: str) -> tf.data.Dataset:
    """One pass over the source in order, as `[B, image_size, image_size, 3]` float32 in [-1, 1]."""
    try:
        dataset = load_domain(
            spec,
            image_size=flag_values.image_size,
            batch_size=flag_values.batch_size,
            crop=crop,
            shuffle=False,
            cache=False,
            repeat=False,
            drop_remainder=False,
            seed=flag_values.seed,
            tfds_data_dir=flag_values.tfds_data_dir,
        )
    except ValueError as error:  # SourceError, or an option the source cannot take
        raise ScoreSetupError(str(error)) from error
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY and flag_values.num_images is None:
        raise ScoreSetupError(f"{spec!r} is endless: give it a COUNT (e.g. {spec}:5000) or pass --num_images")
    return dataset


def load_extractor(flag_values):
    """InceptionV3, or the penultimate layer of the --features domain's attribute classifier (trained if not cached)."""
    if flag_values.features == "inception":
        return load_inception(flag_values.inception_weights, flag_values.inception_size)
    domain = CLASSIFIER_FEATURES[flag_values.features]
    settings = attributes.ClassifierSettings(
        domain=domain,
        image_size=flag_values.image_size,
        num_train_images=flag_values.classifier_train_images,
        epochs=flag_values.classifier_epochs,
        photos=attributes.PhotoLook(flag_values.photo_background, flag_values.photo_crop)
        if domain == "photo"
        else attributes.AS_DRAWN,
        seed=flag_values.seed,
    )
    cache_dir = Path(flag_values.classifier_cache_dir).expanduser()
    trained = attributes.load_or_train(settings, cache_dir, verbose=0)
    print(f"{domain} classifier: {'cached' if trained.cached else 'trained'} in {cache_dir}", file=sys.stderr)
    return classifier_extractor(trained.classifier)


def score(flag_values) -> dict:
    """The requested metrics as {name: metrics.Score}; IS of the real set as "is_real"."""
    names = check_metrics(flag_values.metrics, flag_values.real, flag_values.fake, flag_values.features)
    if "kid" in names and flag_values.num_images is not None and flag_values.num_images < flag_values.kid_subset_size:
        raise ScoreSetupError(
            f"--kid_subset_size={flag_values.kid_subset_size} is larger than --num_images={flag_values.num_images}"
        )
    sets = {"fake": (flag_values.fake, flag_values.fake_crop)}
    if flag_values.real:
        sets["real"] = (flag_values.real, flag_values.real_crop)
    datasets = {name: image_batches(spec, flag_values, crop) for name, (spec, crop) in sets.items()}
    extractor = load_extractor(flag_values)
    activations = {
        name: extract_activations(
            extractor,
            dataset,
            moments="fid" in names,
            keep_features="kid" in names,
            keep_probabilities="is" in names,
            max_images=flag_values.num_images,
            description=name,
        )
        for name, dataset in datasets.items()
    }
    for name, found in activations.items():
        if found.count < 2:
            raise ScoreSetupError(f"--{name}={sets[name][0]}: {found.count} image(s); the metrics need at least 2")
    scores = {}
    if "fid" in names:
        scores["fid"] = metrics.fid_from_moments(activations["real"].moments, activations["fake"].moments)
    if "kid" in names:
        try:
            scores["kid"] = metrics.kid(
                activations["real"].features,
                activations["fake"].features,
                flag_values.kid_subsets,
                flag_values.kid_subset_size,
                flag_values.seed,
            )
        except ValueError as error:
            raise ScoreSetupError(f"{error} (--kid_subset_size)") from error
    if "is" in names:
        for name, found in activations.items():
            key = "is" if name == "fake" else "is_real"
            try:
                scores[key] = metrics.inception_score(found.probabilities, flag_values.is_splits)
            except ValueError as error:
                raise ScoreSetupError(f"--{name}: {error} (--is_splits)") from error
    return scores


LABELS = {"fid": "FID", "kid": "KID", "is": "IS (fake)", "is_real": "IS (real)"}


def format_scores(scores: dict, flag_values) -> str:
    """One line per score with its sample counts, e.g. `FID        41.2031 (n = 1000 vs 1000)`."""
    details = {
        "kid": f"; {flag_values.kid_subsets} subsets of {flag_values.kid_subset_size}",
        "is": f"; {flag_values.is_splits} splits",
        "is_real": f"; {flag_values.is_splits} splits",
    }
    lines = [f"real: {flag_values.real}" if flag_values.real else None, f"fake: {flag_values.fake}"]
    if flag_values.features != "inception":
        lines.append(f"features: {features_label(flag_values.features)}")
    for name, value in scores.items():
        lines.append(f"{LABELS[name]:<10} {value}{details.get(name, '')}")
    return "\n".join(line for line in lines if line)


def features_label(features: str) -> str:
    """What the scores were computed on, for a table's column or a report line."""
    if features == "inception":
        return "InceptionV3"
    return f"the {CLASSIFIER_FEATURES[features]} attribute classifier's penultimate layer, not InceptionV3"


def to_json(scores: dict, features: str = "inception") -> dict:
    return {
        name: {"mean": value.mean, "std": value.std, "counts": list(value.counts), "features": features}
        for name, value in scores.items()
    }


def run(flag_values) -> int:
    """What the CLI does with parsed flags: prints the scores; returns the exit code."""
    try:
        scores = score(flag_values)
    except (ScoreSetupError, ExtractorSetupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(format_scores(scores, flag_values))
    if flag_values.output_json:
        path = Path(flag_values.output_json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_json(scores, flag_values.features), indent=2) + "\n")
    return EXIT_COMPLETED


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(run(FLAGS))


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
