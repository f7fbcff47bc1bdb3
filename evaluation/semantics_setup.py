"""What every attribute-preservation report of `evaluation.semantics` sets up: the synthetic domain of a domain's
name, the output folders, the target domain's attribute classifier, the run's training step.

Shared by the report of a translating generator (`evaluation.semantics`) and
the provenance report of a style-guided translator (`evaluation.provenance`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluation import attributes
from evaluation.attributes import AS_DRAWN, ClassifierSettings, PhotoLook, TrainedClassifier
from preprocessing import synthetic
from training.backup import backed_up_steps
from training.run import RunLayout

# The names model packages give their domains -> the synthetic domain that draws them.
DOMAIN_ALIASES = {"face": "photo", "photo": "photo", "human": "photo", "cartoon": "cartoon", "anime": "cartoon"}


class SemanticsSetupError(ValueError):
    """A missing generator, unusable flags or paths; reported as one line."""


def synthetic_domain(source_spec) -> str | None:
    """ "photo" for the source spec synthetic:photo[:COUNT]; None for any other source (a folder, say)."""
    kind, _, rest = str(source_spec or "").partition(":")
    domain = rest.partition(":")[0]
    return domain if kind == "synthetic" and domain in synthetic.DOMAINS else None


def mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else float("nan")


def output_dirs(flag_values, direction: str) -> tuple[Path, Path, Path]:
    """(out, cache_dir, logdir) from the flags and their run-directory defaults."""
    layout = RunLayout.open(flag_values.run_dir) if flag_values.run_dir else None
    if flag_values.out:
        out = Path(flag_values.out)
    elif layout:
        out = layout.semantics_dir / direction
    else:
        raise SemanticsSetupError("--out is required without --run_dir")
    cache_dir = (
        Path(flag_values.cache_dir)
        if flag_values.cache_dir
        else (layout.semantics_dir / "classifiers" if layout else out / "classifiers")
    )
    logdir = (
        Path(flag_values.logdir)
        if flag_values.logdir
        else (layout.tensorboard_dir / "semantics" if layout else out / "tensorboard")
    )
    return out, cache_dir, logdir


def target_classifier(
    flag_values, target: str, image_size: int, photos: PhotoLook, cache_dir, progress: bool = True
) -> TrainedClassifier:
    """The attribute classifier of the `target` domain at `image_size` the flags describe: cached, else trained."""
    settings = ClassifierSettings(
        domain=target,
        image_size=image_size,
        attributes=tuple(flag_values.attributes),
        num_train_images=flag_values.num_train_images,
        epochs=flag_values.epochs,
        batch_size=flag_values.batch_size,
        num_oracle_images=flag_values.num_oracle_images,
        seed=flag_values.seed,
        photos=photos if target == "photo" else AS_DRAWN,  # a cartoon classifier never sees one
    )
    trained = attributes.load_or_train(settings, cache_dir, flag_values.retrain, verbose="auto" if progress else 0)
    print(f"{target} classifier: {'cached' if trained.cached else 'trained'} in {cache_dir}")
    return trained


def training_step(run_dir) -> int:
    """The steps a run trained for (from its backup), so TensorBoard places the scores on its time axis; else 0."""
    return backed_up_steps(RunLayout.open(run_dir).backup_dir) if run_dir else 0
