"""Exported generators: the networks a trained model translates with, as standalone `.keras` files."""
from __future__ import annotations

from pathlib import Path

import keras


def export_generators(model: keras.Model, run_dir) -> dict:
    """Saves each of `model.exportable_models()` as `<run_dir>/export/<name>.keras`; returns {name: path}."""
    export_dir = Path(run_dir) / "export"
    export_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, generator in model.exportable_models().items():
        paths[name] = export_dir / f"{name}.keras"
        generator.save(paths[name])
    return paths


def load_generator(path) -> keras.Model:
    """An exported generator, ready for `predict`.

    Custom layers load once their package is imported (e.g. `import cyclegan.networks`),
    which registers them with Keras.
    """
    return keras.saving.load_model(path, compile=False)
