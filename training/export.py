"""Exported generators: the networks a trained model translates with, as standalone `.keras` files.

`load_generator(path)` loads any model's export; after `register_custom_objects()`, so does plain
`keras.saving.load_model(path)`.
"""

from __future__ import annotations

from pathlib import Path

import keras

from preprocessing import atomic_files
from training import layers, registry  # noqa: F401  (importing `layers` registers the project's own)
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
    exports the averages; its own weights are unchanged afterwards. Each file is
    written whole or not at all (`atomic_files.WriteError` when it cannot be).
    """
    paths = {}
    with averages_swapped_in(model):
        for name, generator in model.exportable_models().items():
            paths[name] = layout.export_path(name)
            with atomic_files.replaced_atomically(paths[name]) as partial:
                generator.save(partial)
    return paths


def register_custom_objects() -> None:
    """Registers with Keras every custom layer an exported generator may hold, so that plain
    `keras.saving.load_model(path)` loads any model's export in any process:

        import keras
        from training import export

        export.register_custom_objects()
        generator = keras.saving.load_model("runs/cyclegan/<timestamp>/export/a2b.keras")

    Without it, a process that imported nothing of the project fails with "Could not locate class
    'ReflectionPadding2D'". A layer is registered when its module is imported: the project's own are in
    `training.layers` (imported with this module), each model's in its package, which `registry.discover()`
    imports for every registered model. Calling it again does nothing.
    """
    registry.discover()


def load_generator(path) -> keras.Model:
    """The exported generator at `path` (`<run_dir>/export/<name>.keras`) of any registered model, ready for
    `predict` or a call on images in [-1, 1]: the one loader of the project's exports.

    It registers the project's and every registered model's custom layers first (`register_custom_objects`),
    so it works in a fresh process; it loads the network without its training state (`compile=False`).
    """
    register_custom_objects()
    return keras.saving.load_model(path, compile=False)
