"""Exported generators: the networks a trained model translates with, as standalone `.keras` files."""

from __future__ import annotations

from pathlib import Path

import keras

from training import registry
from training.ema import averages_swapped_in
from training.run import RunLayout

HARNESS_HINT = "train first; the harness exports generators to <run_dir>/export/"


class MissingGeneratorError(FileNotFoundError):
    """No exported generator where a CLI looked; its message is the one line the CLI prints."""


def check_exported(path, hint: str | None = HARNESS_HINT) -> Path:
    """`path` as a Path if it is a file; else MissingGeneratorError naming it (and `hint`, how to get one)."""
    path = Path(path)
    if not path.is_file():
        raise MissingGeneratorError(f"{path}: no exported generator" + (f" ({hint})" if hint else ""))
    return path


def export_generators(model: keras.Model, layout: RunLayout) -> dict:
    """Saves each of `model.exportable_models()` where the run keeps its exports; returns {name: path}.

    A model that keeps a moving average of its generator weights (`--ema_decay`)
    exports the averages; its own weights are unchanged afterwards.
    """
    paths = {}
    with averages_swapped_in(model):
        for name, generator in model.exportable_models().items():
            paths[name] = layout.export_path(name)
            paths[name].parent.mkdir(parents=True, exist_ok=True)
            generator.save(paths[name])
    return paths


def load_generator(path) -> keras.Model:
    """An exported generator of any registered model, ready for `predict`.

    Its custom layers deserialise once their package is imported, which registers
    them with Keras; `registry.discover()` imports every registered model package.
    """
    registry.discover()
    return keras.saving.load_model(path, compile=False)
