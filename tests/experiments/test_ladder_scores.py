"""`experiments.ladder_scores`: the fraction of the way from chance to the oracle, the means it is computed from, the
table of a ladder's points and commands, and the plot."""

import sys

import pytest
from PIL import Image

from experiments import ladder_scores, quality_ladder
from experiments.ladder_rungs import ModelLadder
from experiments.ladder_scores import LadderPoint
from tests.experiments.test_quality_ladder import XGAN_CONFIG
from training import registry


def test_the_fraction_of_the_way_from_chance_to_the_oracle():
    assert ladder_scores.fraction_of_the_way(0.5, 0.2, 0.8) == pytest.approx(0.5)
    assert ladder_scores.fraction_of_the_way(0.2, 0.2, 0.8) == 0.0
    assert ladder_scores.fraction_of_the_way(0.8, 0.2, 0.8) == 1.0
    # docs/evaluation.md's XGAN face2cartoon means: 0.364 against chance 0.209 and oracle 0.996.
    point = LadderPoint("xgan", "face2cartoon", 1, 4, 9600, 0.364, 0.209, 0.996)
    assert point.fraction == pytest.approx(0.155 / 0.787)


def test_stargan_v2_is_scored_by_its_latent_guided_translations_against_their_sources():
    semantics_json = {"mean": {"translations": 0.364, "chance": 0.209, "oracle": 0.996}}
    provenance_json = {
        "reference_guided": {"mean": {"from_source": 0.274, "from_reference": 0.248, "chance": 0.209, "oracle": 0.99}},
        "latent_guided": {"mean": {"translations": 0.256, "chance": 0.209, "oracle": 0.996}},
    }
    assert ladder_scores.mean_scores(semantics_json) == (0.364, 0.209, 0.996)
    assert ladder_scores.mean_scores(provenance_json) == (0.256, 0.209, 0.996)


POINTS = [
    LadderPoint("xgan", "face2cartoon", 1, 4, 9600, 0.364, 0.209, 0.996),
    LadderPoint("xgan", "face2cartoon", 3, 12, 28800, 0.5, 0.209, 0.996),
    LadderPoint("stargan_v2", "photo2cartoon", 1, 7, 8400, 0.256, 0.209, 0.996),
]


def test_the_table_has_a_row_per_model_rung_and_direction_and_the_commands(tmp_path):
    ladder = ModelLadder(registry.get("xgan"), (), XGAN_CONFIG, tmp_path)
    args, _ = quality_ladder.parse_arguments([f"--runs_dir={tmp_path}", "--models=xgan", "--rungs=1,3,9"])
    commands = quality_ladder.ladder_commands([ladder], args)
    table = ladder_scores.markdown_table(POINTS, [sys.executable, "-m", "experiments.quality_ladder"], commands)
    lines = table.splitlines()
    assert lines[0].startswith("| model | direction | rung | epochs | images seen | mean accuracy | chance | oracle |")
    assert lines[2] == "| xgan | face2cartoon | 1x | 4 | 9,600 | 0.364 | 0.209 | 0.996 | 0.197 |"
    assert lines[3] == "| xgan | face2cartoon | 3x | 12 | 28,800 | 0.500 | 0.209 | 0.996 | 0.370 |"
    assert lines[4] == "| stargan_v2 | photo2cartoon | 1x | 7 | 8,400 | 0.256 | 0.209 | 0.996 | 0.060 |"
    assert ".venv/bin/python -m experiments.quality_ladder" in lines
    assert f".venv/bin/python -m xgan.train --epochs=36 --run_dir={ladder.run_dir}" in lines
    assert len(commands) == 3 * 3  # each rung: its training stage and two scorings


def test_the_plot_is_a_png(tmp_path):
    path = tmp_path / "docs" / quality_ladder.PLOT_FILE
    ladder_scores.plot_ladder(POINTS, path)
    with Image.open(path) as plot:
        assert plot.format == "PNG" and plot.size == (800, 500)
