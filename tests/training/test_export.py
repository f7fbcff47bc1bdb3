"""training.export: any model's exported generator loads in a fresh process, with identical outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from cyclegan.model import CycleGAN
from training import export
from training.run import RunLayout

REPO_ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter that imports nothing of the project but training.export: loading first without it, then
# after export.register_custom_objects(), the way the README shows.
LOAD_IN_A_FRESH_PROCESS = """
import sys
import keras
import numpy as np

generator_path, inputs_path, outputs_path = sys.argv[1:]
try:
    keras.saving.load_model(generator_path)
except TypeError as error:
    print("without registering:", " ".join(str(error).split()))

import training.export

training.export.register_custom_objects()
generator = keras.saving.load_model(generator_path)
np.save(outputs_path, keras.ops.convert_to_numpy(generator(np.load(inputs_path), training=False)))
"""


def test_an_exported_generator_loads_in_a_fresh_process_after_one_call(tmp_path):
    model = CycleGAN(image_size=32, residual_blocks=1, generator_filters=4, discriminator_filters=4)
    path = export.export_generators(model, RunLayout.open(tmp_path / "run"))["a2b"]
    inputs = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "inputs.npy", inputs)

    result = subprocess.run(
        [sys.executable, "-c", LOAD_IN_A_FRESH_PROCESS, str(path), str(tmp_path / "inputs.npy"), tmp_path / "out.npy"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    # The layer CycleGAN's generator holds is unknown until registered: what the call is for.
    assert result.stdout.startswith("without registering:")
    assert "Could not locate class 'ReflectionPadding2D'" in result.stdout
    expected = model.generators["G_A"](inputs, training=False)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.asarray(expected))


def test_load_generator_gives_the_exported_network(tmp_path):
    model = CycleGAN(image_size=32, residual_blocks=1, generator_filters=4, discriminator_filters=4)
    path = export.export_generators(model, RunLayout.open(tmp_path / "run"))["b2a"]
    inputs = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")

    generator = export.load_generator(path)

    np.testing.assert_array_equal(
        np.asarray(generator(inputs, training=False)), np.asarray(model.generators["G_B"](inputs, training=False))
    )
