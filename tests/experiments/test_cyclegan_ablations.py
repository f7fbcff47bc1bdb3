"""`python -m experiments.cyclegan_ablations`: trains, translates and scores each recipe, then writes the table.

The end-to-end runs (one CycleGAN training per recipe) are slow: `make test-slow`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import cyclegan_ablations
from tests.conftest import SMALL_INCEPTION_SIZE
from tests.cyclegan.test_cli import TINY

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_TRAINING = ["--", "--epochs=1", *TINY]  # the flags after "--" go to cyclegan.train


def run_ablations(runs_dir: Path, *arguments) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "experiments.cyclegan_ablations", f"--runs_dir={runs_dir}", "--num_images=6"]
    return subprocess.run(
        [*command, *arguments, *TINY_TRAINING], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True
    )


@pytest.fixture(scope="module")
def inception_ablations(tmp_path_factory, inception_weights) -> Path:
    """Two recipes scored with the Inception Score of a random-weight InceptionV3 at its smallest input."""
    runs_dir = tmp_path_factory.mktemp("ablations")
    score_flags = f"--inception_weights={inception_weights} --inception_size={SMALL_INCEPTION_SIZE} --is_splits=2"
    run_ablations(
        runs_dir, "--experiments=standard,no_cycle_no_identity", "--metrics=is", f"--score_flags={score_flags}"
    )
    return runs_dir


@pytest.mark.slow
def test_each_recipe_trains_with_its_losses_and_translates_the_held_out_inputs(inception_ablations):
    for experiment, identity_weight, cycle_loss in [("standard", 0.5, "both"), ("no_cycle_no_identity", 0.0, "none")]:
        config = json.loads((inception_ablations / experiment / "config.json").read_text())
        assert (config["recipe"], config["relative_identity_weight"], config["cycle_loss"]) == (
            experiment,
            identity_weight,
            cycle_loss,
        )
        assert len(list((inception_ablations / experiment / "test_a2b").glob("*.png"))) == 6
    assert len(list((inception_ablations / "heldout" / "photo_32px_keep").glob("*.png"))) == 6


@pytest.mark.slow
def test_the_table_has_a_row_per_recipe_with_its_score_and_the_reports_beside_it(inception_ablations):
    table = (inception_ablations / cyclegan_ablations.TABLE_FILE).read_text().splitlines()
    assert table[0] == "| experiment | IS (InceptionV3) | report's IS (InceptionV3, its data) |"
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in table[2:4]}
    for experiment, report in [("standard", "2.384 ± 0.435"), ("no_cycle_no_identity", "1.344 ± 0.334")]:
        scores = json.loads((inception_ablations / experiment / cyclegan_ablations.SCORES_FILE).read_text())
        assert scores["is"]["counts"] == [6] and 1.0 <= scores["is"]["mean"] <= 2.0  # 2 splits of 3 images
        assert rows[experiment] == [f"{scores['is']['mean']:.4g} ± {scores['is']['std']:.2g}", f"{report} |"]
    assert "IS n = [6]" in table[-1]


@pytest.mark.slow
def test_classifier_features_label_their_columns(inception_ablations):
    score_flags = (
        f"--classifier_cache_dir={inception_ablations / 'classifiers'} --classifier_train_images=64 "
        "--classifier_epochs=1 --kid_subsets=2 --kid_subset_size=3"
    )
    run_ablations(
        inception_ablations,
        "--experiments=standard",
        "--features=classifier",
        "--metrics=fid,kid",
        f"--score_flags={score_flags}",
    )
    header = (inception_ablations / cyclegan_ablations.TABLE_FILE).read_text().splitlines()[0]
    label = "the cartoon attribute classifier's penultimate layer, not InceptionV3"
    assert header == f"| experiment | FID ({label}) | KID ({label}) | report's IS (InceptionV3, its data) |"


def test_a_run_on_neither_built_in_faces_nor_a_dataset_dir_is_refused(tmp_path):
    args, _ = cyclegan_ablations.parse_arguments([f"--runs_dir={tmp_path}"])
    config = {"image_size": 32, "dataset_dir": "", "a_source": "folder:/photos", "b_source": "synthetic:cartoon"}
    with pytest.raises(ValueError, match="--a_source=folder:/photos: held-out images exist for built-in domains"):
        cyclegan_ablations.held_out_folders(args, config)


def test_a_run_trained_on_cropped_photos_is_refused_before_anything_is_written(tmp_path):
    args, _ = cyclegan_ablations.parse_arguments([f"--runs_dir={tmp_path}"])
    config = {"image_size": 32, "dataset_dir": "", "a_source": "synthetic:photo", "a_background": "white"}
    with pytest.raises(ValueError, match="^--a_crop=bbox: held-out built-in images are written uncropped"):
        cyclegan_ablations.held_out_folders(args, {**config, "a_crop": "bbox"})
    assert not (tmp_path / "heldout").exists()


def test_a_dataset_dir_run_is_scored_on_its_test_folders(tmp_path):
    args, _ = cyclegan_ablations.parse_arguments([f"--runs_dir={tmp_path}", "--direction=b2a"])
    config = {"image_size": 256, "dataset_dir": "/data/horse2zebra"}
    assert cyclegan_ablations.held_out_folders(args, config) == (
        Path("/data/horse2zebra/testB"),
        Path("/data/horse2zebra/testA"),
    )


def test_kid_subsets_are_at_most_half_the_smaller_set_and_score_flags_come_last(tmp_path):
    args, _ = cyclegan_ablations.parse_arguments(
        [f"--runs_dir={tmp_path}", "--metrics=kid", "--score_flags=--kid_subsets=7"]
    )
    real, translations = tmp_path / "real", cyclegan_ablations.translations_dir(args, "standard")
    for folder, count in ((real, 9), (translations, 6)):
        folder.mkdir(parents=True)
        for index in range(count):
            (folder / f"{index}.png").write_bytes(b"")
    config = {"image_size": 64, "a_source": "synthetic:photo", "b_source": "synthetic:cartoon"}

    command = cyclegan_ablations.experiment_score_command(args, "standard", real, config)

    assert "--kid_subset_size=3" in command and command[-1] == "--kid_subsets=7"
    assert f"--real=folder:{real}" in command and "--features=inception" in command


def test_fid_is_one_number_and_kid_a_mean_with_its_spread():
    scores = {
        "no_identity": {
            name: {"mean": mean, "std": std, "counts": [500, 500], "features": "cartoon_classifier"}
            for name, mean, std in (("fid", 476.12, 0.0), ("kid", 0.03123, 0.0021))
        }
    }
    table = cyclegan_ablations.markdown_table(scores, ["fid", "kid"]).splitlines()
    assert table[2] == "| no_identity | 476.1 | 0.03123 ± 0.0021 |  |"
    assert table[-1] == "Sample counts: FID n = [500, 500], KID n = [500, 500]."
