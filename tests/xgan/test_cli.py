"""`python -m xgan.train` and `python -m xgan.translate` end to end, on tiny settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from absl import flags
from PIL import Image

from xgan import train
from xgan.registration import MODEL

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*arguments, check=True, env=None):
    return subprocess.run(
        [sys.executable, "-m", *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=check,
        env={**os.environ, **(env or {})},
    )


def test_train_then_translate(tmp_path):
    run_dir = tmp_path / "run"
    run(
        "xgan.train",
        "--epochs=2",
        "--steps_per_epoch=2",
        "--batch_size=4",
        "--log_every_n_steps=1",
        "--num_grid_samples=3",
        "--face_source=synthetic:photo:12",
        "--cartoon_source=synthetic:cartoon:12",
        "--jit_compile=false",
        f"--run_dir={run_dir}",
    )
    assert list((run_dir / "tensorboard" / "train").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (run_dir / "grids").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert (run_dir / "losses.png").is_file() and (run_dir / "grids.gif").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["gradient_reversal_ramp"], config["learning_rate"], config["batch_size"]) == ("ganin", 5e-4, 4)
    assert (config["face_background"], config["cartoon_background"]) == ("white", "keep")
    assert (config["warmup_steps"], config["mirror_private_init"]) == (400, True)
    for name in ("face2cartoon", "cartoon2face"):
        assert (run_dir / "export" / f"{name}.keras").is_file()

    faces = tmp_path / "faces"
    run("preprocessing.synthetic", "--domain=photo", "--count=3", "--size=80", f"--out={faces}")
    (faces / "broken.png").write_text("not an image")
    result = run(
        "xgan.translate",
        f"--run_dir={run_dir}",
        "--direction=face2cartoon",
        f"--input={faces}",
        f"--output={tmp_path / 'out'}",
        "--grid",
    )
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert written == ["000000.png", "000001.png", "000002.png", "grid.png"]
    assert np.asarray(Image.open(tmp_path / "out" / "000000.png")).shape == (64, 64, 3)
    assert "broken.png" in result.stdout


def test_translate_without_a_trained_run_is_a_one_line_error(tmp_path):
    result = run(
        "xgan.translate", f"--run_dir={tmp_path}", f"--input={tmp_path}", f"--output={tmp_path / 'o'}", check=False
    )
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {tmp_path}/export/face2cartoon.keras: no exported generator (train first; the harness exports "
        "generators to <run_dir>/export/)"
    ]


def test_faces_without_masks_or_segmenter_on_a_white_background_are_a_one_line_error(tmp_path):
    faces, models = tmp_path / "faces", tmp_path / "no_models"
    faces.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(faces / "a.png")
    result = run(
        "xgan.train",
        f"--face_source=folder:{faces}",
        f"--run_dir={tmp_path / 'run'}",
        check=False,
        env={"XGAN_TOOLKIT_MODELS": str(models)},
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: --face_source=folder:{faces}: 'folder:{faces}' has no foreground masks and the person segmenter "
        f"is missing: {models / 'selfie_segmentation.tflite'}: missing; run `python -m preprocessing.models fetch` "
        "(or `make models`)"
    ]


def test_train_help_explains_the_report_flags():
    help_text = run("xgan.train", "--helpfull", check=False).stdout  # absl exits 1 after printing help
    for flag in (
        "--face_source",
        "--cartoon_source",
        "--semantic_distance",
        "--gan_loss",
        "--discriminate",
        "--teacher_model",
        "--domain_adversarial_weight",
        "--strategy",
        "--mixed_precision",
        "--run_dir",
        "--face_background",
        "--warmup_steps",
        "--domain_objective",
        "--[no]mirror_private_init",
        "--upsampling",
        "--[no]spectral_norm",
        "--reconstruction_distance",
    ):
        assert flag in help_text


def test_recipe_report_trains_with_the_reports_settings_and_command_line_flags_win(tmp_path):
    run_dir = tmp_path / "run"
    run(
        "xgan.train",
        "--recipe=report",
        "--semantic_weight=0.5",
        "--epochs=1",
        "--steps_per_epoch=2",
        "--batch_size=4",
        "--num_grid_samples=2",
        "--face_source=synthetic:photo:8",
        "--cartoon_source=synthetic:cartoon:8",
        "--jit_compile=false",
        f"--run_dir={run_dir}",
    )
    config = json.loads((run_dir / "config.json").read_text())
    assert config["recipe"] == "report"
    weights = ["reconstruction_weight", "domain_adversarial_weight", "adversarial_weight", "teacher_weight"]
    assert [config[name] for name in weights] == [1.0, 1.0, 1.0, 1.0]
    assert config["semantic_weight"] == 0.5  # given on the command line
    assert (config["domain_objective"], config["warmup_steps"]) == ("reversal", 0)
    assert (config["mirror_private_init"], config["face_background"]) == (False, "keep")
    assert (config["reconstruction_distance"], config["learning_rate"]) == ("l2", 2e-4)
    assert (run_dir / "export" / "face2cartoon.keras").is_file()


def resolved_config(*arguments: str) -> dict:
    """The run config xgan.train resolves from `arguments`, parsed into flags of its own."""
    values = flags.FlagValues()
    train.define_flags(values)
    values(["xgan.train", *arguments])
    return train.resolve_config(values)


def test_the_make_target_trains_twice_the_steps_of_half_the_report_s_batch():
    config = resolved_config()
    assert (config["batch_size"], config["steps_per_epoch"], config["warmup_steps"]) == (8, 300, 400)
    assert resolved_config("--recipe=report")["batch_size"] == 16


def test_the_old_gan_weight_flag_and_config_key_still_set_the_adversarial_weight(capsys):
    config = resolved_config("--recipe=report", "--gan_weight=0.5")

    assert config["adversarial_weight"] == 0.5 and "gan_weight" not in config  # given: wins over the recipe
    assert capsys.readouterr().err == "warning: --gan_weight is deprecated; use --adversarial_weight\n"
    old = {("gan_weight" if key == "adversarial_weight" else key): value for key, value in config.items()}
    assert MODEL.build(old).hyperparameters == MODEL.build(config).hyperparameters
    assert MODEL.build(old).adversarial_weight == 0.5


def test_the_toolkit_trains_on_l1_at_5e_4_with_ema_and_the_report_recipe_restores_l2_at_2e_4_without():
    toolkit, report = resolved_config(), resolved_config("--recipe=report")
    assert (toolkit["reconstruction_distance"], toolkit["learning_rate"], toolkit["ema_decay"]) == ("l1", 5e-4, 0.99)
    assert (report["reconstruction_distance"], report["learning_rate"], report["ema_decay"]) == ("l2", 2e-4, 0.0)
    assert MODEL.build(toolkit).reconstruction_distance == "l1"
