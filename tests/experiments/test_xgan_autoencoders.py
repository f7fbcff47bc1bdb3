"""experiments.xgan_autoencoders: the auto-encoders rebuilt from a run's exports are the model's, and the table."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from experiments import xgan_autoencoders
from xgan.model import XGAN


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory):
    """An untrained XGAN (mirrored private halves off, so the two domains' layers differ) and a run directory
    holding its two exports, as xgan.train writes them."""
    model = XGAN(mirror_private_init=False)
    run_dir = tmp_path_factory.mktemp("run")
    (run_dir / "export").mkdir()
    for name, translator in model.exportable_models().items():
        translator.save(run_dir / "export" / f"{name}.keras")
    (run_dir / "config.json").write_text(json.dumps({"face_background": "white"}))
    return model, run_dir


def test_saved_autoencoders_decode_each_domain_s_own_embedding(exported_run):
    model, run_dir = exported_run

    files = xgan_autoencoders.save_autoencoders(run_dir)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    for domain in ("face", "cartoon"):
        restored = keras.saving.load_model(files[f"{domain}2{domain}"])
        expected = keras.ops.convert_to_numpy(model.decode(model.encode(images, domain), domain))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(images)), expected, rtol=1e-5, atol=1e-5)
    face2face = keras.ops.convert_to_numpy(keras.saving.load_model(files["face2face"])(images))
    assert not np.allclose(face2face, keras.ops.convert_to_numpy(model.translate(images, "face2cartoon")))


def test_a_run_without_exports_fails_in_one_line(tmp_path, capsys):
    assert xgan_autoencoders.main(["--run_dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "face2cartoon.keras does not exist" in error


def test_autoencoders_are_scored_on_photos_prepared_as_the_run_s(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"face_background": "white", "face_crop": "bbox"}))
    args = xgan_autoencoders.parse_arguments(["--run_dir", str(tmp_path), "--cache_dir", "cache"])
    face_look = xgan_autoencoders.face_look_flags(tmp_path)
    command = xgan_autoencoders.semantics_command(
        args, "face2face", tmp_path / "autoencoders" / "face2face.keras", face_look
    )
    assert "--source_domain=photo" in command and "--target_domain=photo" in command
    assert "--photo_background=white" in command and "--photo_crop=bbox" in command and "--cache_dir=cache" in command
    translation = xgan_autoencoders.semantics_command(args, "face2cartoon", None, face_look)
    assert f"--run_dir={tmp_path}" in translation and "--direction=face2cartoon" in translation


def result(accuracies: dict, chance: float, oracle: float) -> dict:
    mean = sum(accuracies.values()) / len(accuracies)
    return {
        "attributes": {name: {"translations": value} for name, value in accuracies.items()},
        "mean": {"translations": mean, "chance": chance, "oracle": oracle},
    }


def test_the_table_gives_each_path_its_accuracies_and_fraction_of_the_way():
    table = xgan_autoencoders.paths_table(
        {
            "face2face": result({"glasses": 0.25, "hair_color": 0.45}, chance=0.25, oracle=0.85),
            "cartoon2cartoon": result({"glasses": 0.75, "hair_color": 0.95}, chance=0.25, oracle=1.0),
        }
    )
    lines = table.splitlines()
    assert lines[0] == "| path | glasses | hair_color | mean | fraction of the way |"
    assert lines[2] == "| face2face | 0.250 | 0.450 | 0.350 | 0.17 |"  # (0.35 - 0.25) / (0.85 - 0.25)
    assert lines[3] == "| cartoon2cartoon | 0.750 | 0.950 | 0.850 | 0.80 |"
