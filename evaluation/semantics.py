"""Attribute preservation: does a translation keep the semantics of its source?

usage: python -m evaluation.semantics --run_dir RUN [--direction face2cartoon] [--num_images 500]
       python -m evaluation.semantics --generator G.keras --source_domain photo --target_domain cartoon --out DIR
       python -m evaluation.semantics --untrained MODEL [--direction face2cartoon] --out DIR   (the floor)
       python -m evaluation.semantics --run_dir RUN [--styles_per_source 4]   (a style-guided model, StarGAN v2's)

The built-in faces know the attributes of every image. This translates N
held-out source-domain records (records 0..N-1 of HELD_OUT_SEED, which no
model trained with --seed below 90000 has seen) and reads each translation
with an attribute classifier of the target domain (`evaluation.attributes`,
trained once on real images and cached), scoring its prediction against the
*source's* attributes:

    accuracy_a = 1/N sum_i [ c_a(g(x_i)) = a(x_i) ]

beside the classifier's accuracy on real target-domain images of the same
people (the oracle: what a perfect translator would get) and the chance level
1/variants (each variant is equally likely; a translator that loses the
attribute scores about this). Writes <out>/semantics.md (the table, sample
counts and a grid of source | translation | real target of the same person),
<out>/semantics.json and <out>/examples.png, and logs the accuracies and the
grid to TensorBoard (--logdir, by default <run_dir>/tensorboard/semantics, so
`make tensorboard` shows them beside the training curves).

A run of a model whose registry spec has a `guided_translator` (StarGAN v2)
gets the provenance report of `evaluation.provenance_report` instead: which
attributes of a reference-guided translation come from the source and which
from the reference, and the latent-guided accuracy and diversity, in both
directions between its domains (or --direction).

A run trained with --ema_decay exports the moving average of its generator
weights (`training.ema`), so that average is what --run_dir scores; the
report says so.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags
from tqdm import tqdm

from evaluation import attributes, provenance_report
from evaluation.attributes import (
    AS_DRAWN,
    HELD_OUT_SEED,
    ClassifierSettings,
    ClassifierSetupError,
    PhotoLook,
    chance_level,
)
from evaluation.provenance import DEFAULT_STYLES_PER_SOURCE
from evaluation.semantics_setup import (
    DOMAIN_ALIASES,
    SemanticsSetupError,
    mean,
    output_dirs,
    synthetic_domain,
    target_classifier,
    training_step,
)
from preprocessing import synthetic
from preprocessing.folder_job import EXIT_COMPLETED, EXIT_USAGE
from preprocessing.pipeline import BACKGROUNDS, CROPS
from training import registry
from training.export import MissingGeneratorError, check_exported, load_generator
from training.images import grid_image, save_grid_png, to_unit_range
from training.run import RunLayout

REPORT_FILE = "semantics.md"
RESULTS_FILE = "semantics.json"
EXAMPLES_FILE = "examples.png"
FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests can parse into a fresh FlagValues)."""

    def define(define_fn, name, default, *arguments, **kwargs):  # arguments: [enum values,] help
        define_fn(name, default, *arguments, flag_values=flag_values, **kwargs)

    define(
        flags.DEFINE_string,
        "run_dir",
        None,
        "Run directory of a trained model (any model package): translates with <run_dir>/export/<direction>.keras.",
    )
    define(
        flags.DEFINE_string,
        "direction",
        "face2cartoon",
        "Name of the exported generator (<source>2<target>, e.g. face2cartoon, cartoon2face); with --untrained, "
        "which of the fresh model's generators; with a style-guided model's --run_dir, the one direction between its "
        "domains to score (default: every direction).",
    )
    define(flags.DEFINE_string, "generator", None, "An exported generator (.keras) to evaluate instead of --run_dir.")
    define(
        flags.DEFINE_enum,
        "untrained",
        None,
        registry.translators(),
        "Evaluate a freshly initialised generator of this registered model (random weights, --seed): the floor "
        "a trained model should beat.",
    )
    define(
        flags.DEFINE_enum,
        "source_domain",
        None,
        synthetic.DOMAINS,
        "Synthetic domain of the translator's inputs (default: the built-in domain of the run's source, e.g. a CycleGAN"
        " run's --a_source for a2b; else from --direction, face -> photo).",
    )
    define(
        flags.DEFINE_enum,
        "target_domain",
        None,
        synthetic.DOMAINS,
        "Synthetic domain of the translator's outputs (default: the built-in domain of the run's target source; else "
        "from --direction, cartoon -> cartoon).",
    )
    define(
        flags.DEFINE_enum,
        "photo_background",
        None,
        BACKGROUNDS,
        "Background of every photo it uses (held-out sources, classifier training and oracle images): keep, "
        "or white (painted out, as with --face_background=white). Default: the run's --face_background "
        "(from the run's config), else keep.",
    )
    define(
        flags.DEFINE_enum,
        "photo_crop",
        None,
        CROPS,
        "Crop of every photo it uses, as --face_crop: none, center or bbox (the square round the face, on "
        "--photo_background=white). Default: the run's --face_crop (from the run's config), else none.",
    )
    define(flags.DEFINE_integer, "num_images", 500, "Held-out source images to translate and score.", lower_bound=1)
    define(
        flags.DEFINE_list,
        "attributes",
        list(attributes.DEFAULT_ATTRIBUTES),
        f"Attributes to score, from {', '.join(synthetic.ATTRIBUTE_VARIANTS)}.",
    )
    define(
        flags.DEFINE_integer,
        "num_train_images",
        ClassifierSettings.num_train_images,
        "Real images each attribute classifier trains on.",
        lower_bound=1,
    )
    define(
        flags.DEFINE_integer,
        "epochs",
        ClassifierSettings.epochs,
        "Training epochs of each attribute classifier.",
        lower_bound=1,
    )
    define(
        flags.DEFINE_integer,
        "num_oracle_images",
        ClassifierSettings.num_oracle_images,
        "Held-out real images each classifier's oracle accuracy is measured on.",
        lower_bound=1,
    )
    define(
        flags.DEFINE_integer, "batch_size", 64, "Batch size of classifier training and of translation.", lower_bound=1
    )
    define(
        flags.DEFINE_string,
        "cache_dir",
        None,
        "Where the classifiers are cached and reused (default: <run_dir>/semantics/classifiers, else "
        "<out>/classifiers).",
    )
    define(flags.DEFINE_bool, "retrain", False, "Retrain the classifiers even if the cache has matching ones.")
    define(
        flags.DEFINE_string,
        "out",
        None,
        f"Folder for {REPORT_FILE}, {RESULTS_FILE} and {EXAMPLES_FILE} (default: <run_dir>/semantics/<direction>); "
        f"a style-guided model's reports go to <out>/<direction>/{provenance_report.REPORT_FILE} (default "
        "<run_dir>/semantics/<direction>).",
    )
    define(
        flags.DEFINE_string,
        "logdir",
        None,
        "TensorBoard log folder (default: <run_dir>/tensorboard/semantics, else <out>/tensorboard).",
    )
    define(flags.DEFINE_integer, "num_examples", 8, "Source | translation pairs in the example grid.", lower_bound=1)
    define(
        flags.DEFINE_integer, "seed", 0, "Seed of the classifiers' training and of --untrained weights.", lower_bound=0
    )
    define(
        flags.DEFINE_integer,
        "styles_per_source",
        DEFAULT_STYLES_PER_SOURCE,
        "A style-guided model's latent-guided translations of each source (their diversity needs 2 or more).",
        lower_bound=2,
    )
    define(
        flags.DEFINE_integer,
        "guided_seed",
        0,
        "Seed of a style-guided model's pairing of sources with references (of other people) and of its latent codes.",
        lower_bound=0,
    )


# -- which translator -----------------------------------------------------------------------------


def domains_of(
    direction: str, source_domain: str | None, target_domain: str | None, config: dict | None = None
) -> tuple[str, str]:
    """(source, target) synthetic domains of "<source>2<target>": each flag, else the built-in domain the run's
    `<side>_source` draws (a CycleGAN run's a2b: its --a_source and --b_source), else the side's name."""
    source, separator, target = direction.partition("2")
    found = [
        flag or _run_domain(config or {}, side) or DOMAIN_ALIASES.get(side)
        for flag, side in ((source_domain, source), (target_domain, target))
    ]
    if not separator or None in found:
        raise SemanticsSetupError(
            f"--direction={direction}: cannot tell its domains; pass --source_domain and --target_domain "
            f"({' or '.join(synthetic.DOMAINS)})"
        )
    return found[0], found[1]


def _run_domain(config: dict, side: str) -> str | None:
    """ "photo" for a run trained with --<side>_source=synthetic:photo[:COUNT]; None for any other source."""
    return synthetic_domain(config.get(f"{side}_source"))


def untrained_generator(model: str, direction: str, seed: int) -> keras.Model:
    """The `direction` generator of a freshly initialised registered `model` (random weights drawn with `seed`)."""
    spec = registry.get(model)
    if direction not in spec.directions:
        raise SemanticsSetupError(f"--direction={direction}: an untrained {model} has {', '.join(spec.directions)}")
    keras.utils.set_random_seed(seed)
    return spec.untrained().exportable_models()[direction]


def generator_path(flag_values) -> Path | None:
    """The .keras file to load, or None for --untrained; checks that exactly one translator is named."""
    named = [name for name in ("run_dir", "generator", "untrained") if flag_values[name].value]
    if len(named) != 1:
        raise SemanticsSetupError(
            "give exactly one of --run_dir, --generator, --untrained"
            + (f" (got {', '.join('--' + name for name in named)})" if named else "")
        )
    if flag_values.untrained:
        return None
    if flag_values.generator:
        return check_exported(flag_values.generator, hint=None)
    return check_exported(RunLayout.open(flag_values.run_dir).export_path(flag_values.direction))


def load_translator(flag_values) -> tuple[keras.Model, str]:
    """(generator, a one-line description of it for the report)."""
    path = generator_path(flag_values)
    if path is None:
        generator = untrained_generator(flag_values.untrained, flag_values.direction, flag_values.seed)
        model, direction, seed = flag_values.untrained, flag_values.direction, flag_values.seed
        description = f"untrained {model} {direction} (random weights, seed {seed})"
        return generator, description
    try:
        return load_generator(path), str(path)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError for foreign or broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SemanticsSetupError(f"{path}: cannot load the generator: {reason}") from error


def averaged_weights_note(config: dict | None) -> str:
    """ ", the moving average of its generator weights (--ema_decay=β)" for a run that exported one, else ""."""
    decay = (config or {}).get("ema_decay")
    return f", the moving average of its generator weights (--ema_decay={decay})" if decay else ""


# -- the benchmark --------------------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one translator did to the held-out sources."""

    accuracies: dict  # {attribute: accuracy of the target classifier on translations vs source attributes}
    count: int
    sources: np.ndarray  # the first examples, [K, S, S, 3] in [-1, 1]
    translations: np.ndarray
    references: np.ndarray  # real target-domain images of the same people


def image_size_of(generator: keras.Model) -> tuple[int, int]:
    """(input side, output side) of a square-image generator."""
    input_shape, output_shape = generator.input_shape, generator.output_shape
    if len(input_shape) != 4 or input_shape[1] is None:
        raise SemanticsSetupError(f"the generator's input {input_shape} is not a fixed [B, S, S, 3] image batch")
    output_side = output_shape[1] if len(output_shape) == 4 and output_shape[1] else input_shape[1]
    return int(input_shape[1]), int(output_side)


def photo_look_of(flag_values, config: dict | None = None) -> PhotoLook:
    """--photo_background and --photo_crop, else the background and crop the run trained its photo side with
    (XGAN's --face_background and --face_crop, a CycleGAN's --a_* when domain A is the built-in photos), else
    photos as drawn."""
    config = config or {}
    sides = flag_values.direction.split("2")
    photo_sides = [side for side in sides if (_run_domain(config, side) or DOMAIN_ALIASES.get(side)) == "photo"]

    def trained(name: str, as_drawn: str) -> str:
        return config.get(f"{photo_sides[0]}_{name}", as_drawn) if photo_sides else as_drawn

    return PhotoLook(
        background=flag_values.photo_background or trained("background", AS_DRAWN.background),
        crop=flag_values.photo_crop or trained("crop", AS_DRAWN.crop),
    )


def evaluate_translator(
    generator,
    classifier,
    source_domain: str,
    target_domain: str,
    num_images: int,
    batch_size: int = 64,
    num_examples: int = 8,
    progress: bool = True,
    photos: PhotoLook = AS_DRAWN,
) -> Evaluation:
    """Translates records 0..num_images-1 of HELD_OUT_SEED and scores the translations' attributes."""
    input_size, output_size = image_size_of(generator)
    classifier_size = classifier.input_shape[1]
    correct, count, sources, translations = {}, 0, [], []
    batches = attributes.records(source_domain, num_images, input_size, batch_size, HELD_OUT_SEED, photos)
    with tqdm(total=num_images, unit="img", desc="translating", disable=not progress, leave=False) as bar:
        for batch in batches:
            translated = generator(batch["image"], training=False)
            translated = tf.cast(translated, tf.float32)
            if output_size != classifier_size:
                translated = tf.image.resize(translated, [classifier_size, classifier_size], method="area")
            predicted = attributes.predict_attributes(classifier, translated)
            for name, values in predicted.items():
                correct[name] = correct.get(name, 0) + int(np.sum(values == batch["attributes"][name].numpy()))
            count += len(translated)
            if sum(len(part) for part in sources) < num_examples:
                sources.append(batch["image"].numpy())
                translations.append(keras.ops.convert_to_numpy(translated))
            bar.update(len(translated))
    references = attributes.records(target_domain, num_examples, classifier_size, num_examples, HELD_OUT_SEED, photos)
    references = next(iter(references))["image"]
    return Evaluation(
        accuracies={name: hits / count for name, hits in correct.items()},
        count=count,
        sources=np.concatenate(sources)[:num_examples],
        translations=np.concatenate(translations)[:num_examples],
        references=references.numpy(),
    )


# -- outputs --------------------------------------------------------------------------------------


def results_json(evaluation: Evaluation, trained, direction: str, description: str, source: str, target: str) -> dict:
    names = list(evaluation.accuracies)
    return {
        "direction": direction,
        "translator": description,
        "source_domain": source,
        "target_domain": target,
        "held_out_seed": HELD_OUT_SEED,
        "num_images": evaluation.count,
        "oracle_images": trained.oracle_count,
        "classifier": trained.settings.to_json(),
        "attributes": {
            name: {
                "translations": evaluation.accuracies[name],
                "oracle": trained.oracle[name],
                "chance": chance_level(name),
                "variants": synthetic.ATTRIBUTE_VARIANTS[name],
            }
            for name in names
        },
        "mean": {
            "translations": mean(evaluation.accuracies.values()),
            "oracle": mean(trained.oracle[name] for name in names),
            "chance": mean(chance_level(name) for name in names),
        },
    }


def markdown_report(results: dict, examples_file: str = EXAMPLES_FILE) -> str:
    """The report: what was measured, the table (attribute | variants | translations | oracle | chance), the grid."""
    source, target = results["source_domain"], results["target_domain"]
    settings = results["classifier"]
    rows = [
        f"| {name} | {values['variants']} | {values['translations']:.3f} | {values['oracle']:.3f} | "
        f"{values['chance']:.3f} |"
        for name, values in results["attributes"].items()
    ]
    means = results["mean"]
    return "\n".join(
        [
            f"# Attribute preservation: {results['direction']} ({source} -> {target})",
            "",
            f"Translator: `{results['translator']}`",
            "",
            f"Each of **{results['num_images']}** held-out synthetic {source} images "
            f"(records 0-{results['num_images'] - 1} of seed {results['held_out_seed']}, never used for training) "
            f"was translated, and a {target} attribute "
            f"classifier read each translation. *Translations*: the fraction whose predicted attribute equals the "
            f"source's. *Oracle*: the same classifier on {results['oracle_images']} real held-out {target} images (the "
            f"same people; what a perfect translator would get). *Chance*: 1 / variants, since every variant is drawn "
            f"with equal probability: a translation that loses the attribute scores about this.",
            "",
            "| attribute | variants | translations | oracle | chance |",
            "| --- | ---: | ---: | ---: | ---: |",
            *rows,
            f"| **mean** | | **{means['translations']:.3f}** | **{means['oracle']:.3f}** | **{means['chance']:.3f}** |",
            "",
            f"Classifier: {settings['num_train_images']} real {target} images at {settings['image_size']} px, "
            f"{settings['epochs']} epochs (seed {settings['seed']}).",
            "",
            f"![rows: {source} sources, their translations, real {target} images of the same people]({examples_file})",
            "",
            f"Rows: the {source} source, its translation, the real {target} image of the same person.",
            "",
        ]
    )


def example_rows(evaluation: Evaluation, direction: str, target: str) -> list:
    """Labelled rows in [0, 1] for `save_grid_png` / `grid_image`: sources, translations, references."""
    size = evaluation.translations.shape[1]
    sources = tf.image.resize(evaluation.sources, [size, size], method="area").numpy()
    references = tf.image.resize(evaluation.references, [size, size], method="area").numpy()
    return [
        ("source", to_unit_range(sources)),
        (direction, to_unit_range(evaluation.translations)),
        (f"real {target}", to_unit_range(references)),
    ]


def log_to_tensorboard(logdir, results: dict, rows: list, step: int) -> None:
    """Scalars semantics/<direction>/<attribute> (and mean, oracle_mean, chance_mean) and the example grid."""
    tag = f"semantics/{results['direction']}"
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for name, values in results["attributes"].items():
            tf.summary.scalar(
                f"{tag}/{name}",
                values["translations"],
                step=step,
                description=f"oracle {values['oracle']:.3f}, chance {values['chance']:.3f}",
            )
        for key in ("translations", "oracle", "chance"):
            label = "mean" if key == "translations" else f"{key}_mean"
            tf.summary.scalar(f"{tag}/{label}", results["mean"][key], step=step)
        tf.summary.image(
            f"{tag}/examples",
            grid_image(rows)[None],
            step=step,
            description="Rows: " + ", ".join(name for name, _ in rows),
        )
    writer.close()


# -- the CLI --------------------------------------------------------------------------------------


def run(flag_values, progress: bool = True) -> dict:
    """What the CLI does with parsed flags; returns the results (as semantics.json)."""
    try:
        attributes.check_attribute_names(flag_values.attributes)
    except ClassifierSetupError as error:
        raise SemanticsSetupError(str(error)) from error
    guided = provenance_report.guided_spec(flag_values.run_dir)
    if guided is not None and not (flag_values.generator or flag_values.untrained):
        return provenance_report.run(flag_values, guided, progress)  # which attributes come from where
    generator_path(flag_values)  # the cheap checks first: a missing file fails before any training
    config = RunLayout.open(flag_values.run_dir).read_config() if flag_values.run_dir else None
    source, target = domains_of(flag_values.direction, flag_values.source_domain, flag_values.target_domain, config)
    # A --generator file has no direction of its own unless --direction names it.
    named = flag_values.run_dir or flag_values.untrained or flag_values["direction"].present
    direction = flag_values.direction if named else f"{source}2{target}"
    out, cache_dir, logdir = output_dirs(flag_values, direction)
    generator, description = load_translator(flag_values)
    description += averaged_weights_note(config)
    _, output_size = image_size_of(generator)
    photos = photo_look_of(flag_values, config)
    trained = target_classifier(flag_values, target, output_size, photos, cache_dir, progress)
    evaluation = evaluate_translator(
        generator,
        trained.classifier,
        source,
        target,
        flag_values.num_images,
        flag_values.batch_size,
        flag_values.num_examples,
        progress,
        photos,
    )
    results = results_json(evaluation, trained, direction, description, source, target)
    out.mkdir(parents=True, exist_ok=True)
    rows = example_rows(evaluation, direction, target)
    save_grid_png(rows, out / EXAMPLES_FILE)
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
    (out / REPORT_FILE).write_text(markdown_report(results))
    log_to_tensorboard(logdir, results, rows, training_step(flag_values.run_dir))
    print(format_table(results))
    print(f"report: {out / REPORT_FILE}\nTensorBoard: {logdir}")
    return results


def format_table(results: dict) -> str:
    """The report's table as plain text for the terminal."""
    lines = [
        f"{results['direction']}: {results['num_images']} held-out images "
        f"(oracle on {results['oracle_images']} real {results['target_domain']} images)",
        f"{'attribute':<20}{'translations':>14}{'oracle':>10}{'chance':>10}",
    ]
    for name, values in [*results["attributes"].items(), ("mean", results["mean"])]:
        lines.append(f"{name:<20}{values['translations']:>14.3f}{values['oracle']:>10.3f}{values['chance']:>10.3f}")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        run(FLAGS)
    except (SemanticsSetupError, ClassifierSetupError, MissingGeneratorError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_COMPLETED)


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
