"""The provenance report of a style-guided translator: what `python -m evaluation.semantics --run_dir RUN` writes
for a run of a model whose registry spec has a `guided_translator` (StarGAN v2's).

For each direction between the translator's domains that the built-in faces
draw (both, photo -> cartoon and cartoon -> photo, unless --direction names
one), `evaluation.provenance` measures it; this writes
<out>/<direction>/provenance.md (the provenance table: attribute | from source |
from reference | chance | oracle; the latent-guided table and diversity; the
grid), provenance.json and provenance.png, where <out> is --out, else
<run_dir>/semantics, and logs the figures and the grid to TensorBoard (tags
provenance/<direction>/...), as `evaluation.semantics` logs its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import tensorflow as tf

from evaluation.attributes import AS_DRAWN, HELD_OUT_SEED, PhotoLook, chance_level
from evaluation.provenance import GuidedEvaluation, evaluate_guided, guided_directions
from evaluation.semantics_setup import SemanticsSetupError, mean, output_dirs, target_classifier, training_step
from preprocessing import synthetic
from training import registry
from training.images import grid_image, save_grid_png, to_unit_range
from training.run import RunLayout

REPORT_FILE = "provenance.md"
RESULTS_FILE = "provenance.json"
EXAMPLES_FILE = "provenance.png"
PROVENANCE_COLUMNS = ("from_source", "from_reference", "chance", "oracle")
LPIPS_NOTE = (
    "LPIPS, the paper's diversity measure, needs ImageNet-trained weights that are not available here, so this uses "
    "the attribute classifier's features instead."
)


def guided_spec(run_dir) -> registry.ModelSpec | None:
    """The registry spec of the model that trained `run_dir` (its config's "model") when it has a guided translator."""
    if not run_dir:
        return None
    model = RunLayout.open(run_dir).read_config().get("model")
    if model not in registry.names():
        return None
    spec = registry.get(model)
    return spec if spec.guided_translator is not None else None


def load_guided_translator(spec: registry.ModelSpec, run_dir):
    try:
        return spec.guided_translator(Path(run_dir))
    except Exception as error:  # Keras and the model's loader raise ValueError, TypeError, OSError, KeyError
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SemanticsSetupError(f"{run_dir}: cannot load the {spec.name} guided translator: {reason}") from error


def photo_look_of(flag_values, config: dict, directions) -> PhotoLook:
    """--photo_background and --photo_crop, else how the run prepared its photo domain: "white" when its
    config's "white_background" names it, and the "crop" every domain shared (a cartoon on white fills its
    frame, so only the photos are cropped here), else photos as drawn."""
    photos = {
        name
        for direction in directions
        for name, domain in (
            (direction.source_name, direction.source_domain),
            (direction.target_name, direction.target_domain),
        )
        if domain == "photo"
    }
    painted = photos & set(config.get("white_background") or ())
    return PhotoLook(
        background=flag_values.photo_background or ("white" if painted else AS_DRAWN.background),
        crop=flag_values.photo_crop or (config.get("crop", AS_DRAWN.crop) if photos else AS_DRAWN.crop),
    )


def results_json(evaluation: GuidedEvaluation, trained, direction, description: str, seed: int) -> dict:
    names = list(evaluation.from_source)
    reference_rows = {
        name: {
            "from_source": evaluation.from_source[name],
            "from_reference": evaluation.from_reference[name],
            "chance": chance_level(name),
            "oracle": trained.oracle[name],
            "variants": synthetic.ATTRIBUTE_VARIANTS[name],
        }
        for name in names
    }
    latent_rows = {
        name: {"translations": evaluation.latent[name], "oracle": trained.oracle[name], "chance": chance_level(name)}
        for name in names
    }
    return {
        "direction": direction.name,
        "translator": description,
        "source_domain": direction.source_domain,
        "target_domain": direction.target_domain,
        "held_out_seed": HELD_OUT_SEED,
        "guided_seed": seed,
        "num_images": evaluation.count,
        "oracle_images": trained.oracle_count,
        "classifier": trained.settings.to_json(),
        "reference_guided": {
            "attributes": reference_rows,
            "mean": {key: mean(row[key] for row in reference_rows.values()) for key in PROVENANCE_COLUMNS},
        },
        "latent_guided": {
            "styles_per_source": evaluation.styles_per_source,
            "num_translations": evaluation.count * evaluation.styles_per_source,
            "attributes": latent_rows,
            "mean": {
                key: mean(row[key] for row in latent_rows.values()) for key in ("translations", "oracle", "chance")
            },
            "diversity": evaluation.diversity,
            "real_diversity": evaluation.real_diversity,
        },
    }


def table_row(name: str, row: dict, columns, bold: bool = False) -> str:
    """ "| name | 0.123 | ... |" of `row`'s `columns`, every cell bold for a total."""
    cells = [name, *(f"{row[column]:.3f}" for column in columns)]
    return "| " + " | ".join(f"**{cell}**" if bold else cell for cell in cells) + " |"


def markdown_report(results: dict, examples_file: str = EXAMPLES_FILE) -> str:
    """The provenance table, the latent-guided table and diversity, the grid, each with what it measures."""
    source, target, count = results["source_domain"], results["target_domain"], results["num_images"]
    reference, latent = results["reference_guided"], results["latent_guided"]
    styles = latent["styles_per_source"]
    reference_rows = [table_row(name, row, PROVENANCE_COLUMNS) for name, row in reference["attributes"].items()] + [
        table_row("mean", reference["mean"], PROVENANCE_COLUMNS, bold=True)
    ]
    latent_columns = ("translations", "oracle", "chance")
    latent_rows = [table_row(name, row, latent_columns) for name, row in latent["attributes"].items()] + [
        table_row("mean", latent["mean"], latent_columns, bold=True)
    ]
    settings = results["classifier"]
    return "\n".join(
        [
            f"# Provenance of a style-guided translation: {results['direction']} ({source} -> {target})",
            "",
            f"Translator: `{results['translator']}`",
            "",
            "## Reference-guided",
            "",
            f"Each of **{count}** held-out synthetic {source} images (records 0-{count - 1} of seed "
            f"{results['held_out_seed']}, never used for training) was translated in the style of a held-out {target} "
            f"image of another person (record pi(i) of the same seed, pi a random cyclic permutation drawn with seed "
            f"{results['guided_seed']}), and a {target} attribute classifier read each translation. *From source*: the "
            "fraction whose predicted attribute equals the source's; *from reference*: equals the reference's. Two "
            "people's attributes are independent, so an attribute taken from the reference scores about chance from "
            f"the source, and one kept from the source about chance from the reference. *Oracle*: the classifier on "
            f"{results['oracle_images']} real held-out {target} images.",
            "",
            "| attribute | from source | from reference | chance | oracle |",
            "| --- | ---: | ---: | ---: | ---: |",
            *reference_rows,
            "",
            "## Latent-guided",
            "",
            f"Each source was translated with {styles} styles from random latent codes "
            f"({latent['num_translations']} translations); *translations*: the fraction whose predicted attribute "
            "equals the source's, as `evaluation.semantics` scores the other models.",
            "",
            "| attribute | translations | oracle | chance |",
            "| --- | ---: | ---: | ---: |",
            *latent_rows,
            "",
            f"Diversity: **{latent['diversity']:.3f}**, the mean distance between the classifier's penultimate "
            f"features of two styles of one source (averaged over the pairs of its {styles} styles, then over the "
            f"sources); between the real {target} images of two different people it is {latent['real_diversity']:.3f}. "
            + LPIPS_NOTE,
            "",
            f"Classifier: {settings['num_train_images']} real {target} images at {settings['image_size']} px, "
            f"{settings['epochs']} epochs (seed {settings['seed']}).",
            "",
            f"![rows: {source} sources, {target} references, translations, styles]({examples_file})",
            "",
            f"Rows: the {source} source, the {target} reference (another person), the source in the reference's style, "
            f"then the source in {styles} random styles.",
            "",
        ]
    )


def example_rows(evaluation: GuidedEvaluation, direction: str) -> list:
    """Labelled rows in [0, 1] for `save_grid_png` / `grid_image`: sources, references, translations, styles."""
    return [
        ("source", to_unit_range(evaluation.sources)),
        ("reference", to_unit_range(evaluation.references)),
        (direction, to_unit_range(evaluation.translations)),
        *(
            (f"style {index + 1}", to_unit_range(evaluation.styled[:, index]))
            for index in range(evaluation.styled.shape[1])
        ),
    ]


def log_to_tensorboard(logdir, results: dict, rows: list, step: int) -> None:
    """Scalars provenance/<direction>/{from_source,from_reference,latent}/<attribute> (and mean), diversity, grid."""
    tag = f"provenance/{results['direction']}"
    reference, latent = results["reference_guided"], results["latent_guided"]
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for name, row in [*reference["attributes"].items(), ("mean", reference["mean"])]:
            description = f"oracle {row['oracle']:.3f}, chance {row['chance']:.3f}"
            for key in ("from_source", "from_reference"):
                tf.summary.scalar(f"{tag}/{key}/{name}", row[key], step=step, description=description)
        for name, row in [*latent["attributes"].items(), ("mean", latent["mean"])]:
            tf.summary.scalar(f"{tag}/latent/{name}", row["translations"], step=step)
        tf.summary.scalar(
            f"{tag}/latent_diversity",
            latent["diversity"],
            step=step,
            description=f"real images of two people: {latent['real_diversity']:.3f}",
        )
        tf.summary.image(
            f"{tag}/examples", grid_image(rows)[None], step=step, description="Rows: " + ", ".join(n for n, _ in rows)
        )
    writer.close()


def format_table(results: dict) -> str:
    """The provenance table, the latent-guided means and the diversity as plain text for the terminal."""
    reference, latent = results["reference_guided"], results["latent_guided"]
    lines = [
        f"{results['direction']}: {results['num_images']} held-out images, each with a reference of another person "
        f"(oracle on {results['oracle_images']} real {results['target_domain']} images)",
        f"{'attribute':<20}{'from source':>13}{'from reference':>16}{'chance':>9}{'oracle':>9}",
    ]
    for name, row in [*reference["attributes"].items(), ("mean", reference["mean"])]:
        lines.append(
            f"{name:<20}{row['from_source']:>13.3f}{row['from_reference']:>16.3f}{row['chance']:>9.3f}"
            f"{row['oracle']:>9.3f}"
        )
    lines.append(
        f"latent-guided, {latent['styles_per_source']} styles a source: mean accuracy "
        f"{latent['mean']['translations']:.3f}; diversity {latent['diversity']:.3f} "
        f"(real images of two people: {latent['real_diversity']:.3f})"
    )
    return "\n".join(lines)


def run(flag_values, spec: registry.ModelSpec, progress: bool = True) -> dict:
    """What `evaluation.semantics` does with a guided translator's run: {direction: results (as provenance.json)}."""
    layout = RunLayout.open(flag_values.run_dir)
    config = layout.read_config()
    translator = load_guided_translator(spec, layout.run_dir)
    requested = flag_values.direction if flag_values["direction"].present else None
    directions = guided_directions(translator.domains, config, requested)
    photos = photo_look_of(flag_values, config, directions)
    description = f"{layout.run_dir} ({spec.name}: reference- and latent-guided)"
    everything = {}
    for direction in directions:
        out, cache_dir, logdir = output_dirs(flag_values, direction.name)
        out = Path(flag_values.out) / direction.name if flag_values.out else out
        trained = target_classifier(
            flag_values, direction.target_domain, translator.image_size, photos, cache_dir, progress
        )
        evaluation = evaluate_guided(
            translator,
            trained.classifier,
            direction,
            flag_values.num_images,
            flag_values.styles_per_source,
            flag_values.batch_size,
            flag_values.num_examples,
            flag_values.guided_seed,
            photos,
            progress,
        )
        results = results_json(evaluation, trained, direction, description, flag_values.guided_seed)
        out.mkdir(parents=True, exist_ok=True)
        rows = example_rows(evaluation, direction.name)
        save_grid_png(rows, out / EXAMPLES_FILE)
        (out / RESULTS_FILE).write_text(json.dumps(results, indent=2) + "\n")
        (out / REPORT_FILE).write_text(markdown_report(results))
        log_to_tensorboard(logdir, results, rows, training_step(flag_values.run_dir))
        print(format_table(results))
        print(f"report: {out / REPORT_FILE}\nTensorBoard: {logdir}")
        everything[direction.name] = results
    return everything
