"""`python -m experiments.ugatit_keypoint_fid`: translates held-out faces and cartoons, scores the report's three
FID columns, measures the reconstructions' keypoint error, and writes the table beside the report's figures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import ugatit_keypoint_fid
from tests.conftest import SMALL_INCEPTION_SIZE
from tests.ugatit.test_cli import TINY

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True
    )


@pytest.mark.slow  # ~4 minutes: a training run, six translations, three scores
def test_the_table_has_the_reports_columns_and_figures_with_inception_features(tmp_path, inception_weights):
    """A random-weight InceptionV3 at its smallest input: the path the report's measure takes, not a result."""
    run_dir = tmp_path / "run"
    run("ugatit.train", "--epochs=1", *TINY, "--run_eagerly", f"--run_dir={run_dir}")
    score_flags = f"--inception_weights={inception_weights} --inception_size={SMALL_INCEPTION_SIZE}"
    result = run(
        "experiments.ugatit_keypoint_fid",
        f"--runs=baseline={run_dir}",
        f"--out={tmp_path / 'fid'}",
        "--num_images=4",
        "--predictor_epochs=1",
        "--predictor_images=32",
        f"--score_flags={score_flags}",
    )
    table = (tmp_path / "fid" / ugatit_keypoint_fid.TABLE_FILE).read_text()
    assert table in result.stdout
    header, _, baseline, report_baseline, report_keypoint, *_ = table.splitlines()
    for column in ugatit_keypoint_fid.COLUMNS:
        assert f"{column} FID (InceptionV3)" in header
    cells = [cell.strip() for cell in baseline.split("|")[1:-1]]
    assert cells[0] == "baseline" and all(float(cell) >= 0 for cell in cells[1:])
    assert "149.25 | 133.49 | 137.68" in report_baseline and "121.16 | 144.0 | 140.07" in report_keypoint
    for folder in ("test_face2cartoon", "test_reconstructed", "test_cartoon2face"):
        assert len(list((run_dir / folder).glob("*.png"))) == 4
    assert "on the real held-out faces" in table


def test_a_run_trained_on_cropped_faces_is_refused_in_one_line(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = {"image_size": 32, "face_background": "white", "face_crop": "bbox", "cartoon_crop": "none"}
    (run_dir / "config.json").write_text(json.dumps(config))
    status = ugatit_keypoint_fid.main([f"--runs=cropped={run_dir}", f"--out={tmp_path / 'fid'}"])
    assert status == 2
    assert capsys.readouterr().err == (
        "error: --face_crop=bbox: held-out built-in images are written uncropped; "
        "score this run with evaluation.semantics, which crops them the way the run did\n"
    )
    assert not (tmp_path / "fid").exists()
