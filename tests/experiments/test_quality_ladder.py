"""`python -m experiments.quality_ladder`: each make target's command, trained in stages to k times its length,
each rung's export kept and scored; end to end, the table, the plot and the contact sheet it writes (their parts:
test_ladder_scores.py, test_ladder_contact_sheet.py).

The end-to-end run (a tiny XGAN ladder of two rungs) is slow: `make test-slow`."""

import itertools
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from experiments import ladder_contact_sheet, ladder_scores, quality_ladder
from experiments.ladder_rungs import LadderError, ModelLadder
from training import registry

REPO_ROOT = Path(__file__).resolve().parents[2]
XGAN_CONFIG = {"epochs": 4, "steps_per_epoch": 150, "batch_size": 16, "face_source": "synthetic:photo:8192"}
XGAN_CONFIG |= {"cartoon_source": "synthetic:cartoon:8192", "face_background": "white"}


def makefile_recipe_flags(target: str) -> list[str]:
    """The --flags written in the Makefile's recipe of `target` (not its $(VARIABLES)), read from the file itself."""
    lines = (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ").splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"{target}:")))
    recipe = " ".join(itertools.takewhile(lambda line: line.startswith("\t"), lines[start + 1 :]))
    return [word for word in recipe.split() if word.startswith("--")]


@pytest.mark.parametrize("model", list(quality_ladder.MAKE_TARGETS))
def test_each_models_command_is_its_make_targets_and_a_rung_multiplies_its_epochs(model, tmp_path):
    ladder = quality_ladder.model_ladder(model, tmp_path, [])
    target = quality_ladder.MAKE_TARGETS[model]

    assert list(ladder.training_flags) == makefile_recipe_flags(target)
    command = ladder.train_command(3)
    assert command[:3] == [sys.executable, "-m", f"{model}.train"]
    assert command[3:-2] == list(ladder.training_flags)
    assert command[-2:] == [f"--epochs={3 * ladder.config['epochs']}", f"--run_dir={tmp_path / model / 'run'}"]
    # The train CLI reads the ladder's --epochs and --run_dir, given after the make target's own.
    resolved = quality_ladder.resolve_training_config(ladder.spec, command[3:])
    assert (resolved["epochs"], resolved["run_dir"]) == (3 * ladder.config["epochs"], str(tmp_path / model / "run"))


def test_the_make_targets_lengths_are_what_their_makefile_comments_say(tmp_path):
    lengths = {
        model: (ladder.config["epochs"], ladder.steps(1), ladder.images_seen(1))
        for model in quality_ladder.MAKE_TARGETS
        for ladder in [quality_ladder.model_ladder(model, tmp_path, [])]
    }
    assert lengths == {
        "xgan": (4, 1200, 9600),  # the CLI's defaults: 4 x 300 steps of 8
        "cyclegan": (6, 600, 2400),
        "ugatit": (11, 1100, 1100),
        "stargan_v2": (7, 1050, 8400),
    }


def test_flags_after_the_double_dash_come_after_the_make_targets_and_a_bad_one_is_one_line(tmp_path):
    ladder = quality_ladder.model_ladder("cyclegan", tmp_path, ["--steps_per_epoch=2"])
    assert ladder.training_flags[-1] == "--steps_per_epoch=2" and ladder.steps(2) == 2 * 6 * 2
    with pytest.raises(LadderError, match="cyclegan.train .*--no_such_flag"):
        quality_ladder.model_ladder("cyclegan", tmp_path, ["--no_such_flag=1"])


def test_each_models_directions_and_where_their_scores_go(tmp_path):
    ladders = {model: quality_ladder.model_ladder(model, tmp_path, []) for model in quality_ladder.MAKE_TARGETS}
    names = {model: [d.name for d in ladder.directions] for model, ladder in ladders.items()}
    assert names == {
        "xgan": ["face2cartoon", "cartoon2face"],
        "cyclegan": ["a2b", "b2a"],
        "ugatit": ["face2cartoon", "cartoon2face"],
        "stargan_v2": ["photo2cartoon", "cartoon2photo"],
    }
    photo2cartoon = [ladder.photo2cartoon.name for ladder in ladders.values()]
    assert photo2cartoon == ["face2cartoon", "a2b", "face2cartoon", "photo2cartoon"]
    assert {ladder.photo_look.background for ladder in ladders.values()} == {"white"}
    assert {ladder.photo_look.crop for ladder in ladders.values()} == {"none"}

    xgan, stargan = ladders["xgan"], ladders["stargan_v2"]
    command = xgan.semantics_command(3, "face2cartoon", 500, ["--epochs=1"])
    assert command[1:] == [
        "-m",
        "evaluation.semantics",
        f"--run_dir={tmp_path / 'xgan' / 'rung_3'}",
        "--direction=face2cartoon",
        "--num_images=500",
        f"--cache_dir={tmp_path / 'classifiers'}",
        f"--out={tmp_path / 'xgan' / 'rung_3' / 'semantics' / 'face2cartoon'}",
        "--epochs=1",
    ]
    assert xgan.results_path(3, "face2cartoon") == tmp_path / "xgan/rung_3/semantics/face2cartoon/semantics.json"
    # A guided model's report goes to <out>/<direction>/: the same folder.
    assert stargan.semantics_command(1, "photo2cartoon", 500)[-1] == f"--out={tmp_path / 'stargan_v2/rung_1/semantics'}"
    assert stargan.results_path(1, "photo2cartoon") == tmp_path / "stargan_v2/rung_1/semantics/photo2cartoon" / (
        "provenance.json"
    )


# -- climbing: training stages, kept rungs, skipped work --------------------------------------------


class FakeCommands:
    """Stands in for the subprocesses: a training stage writes the run's config, export and backup step count;
    a scoring writes its results JSON. Records every command."""

    def __init__(self, ladder: ModelLadder):
        self.ladder = ladder
        self.commands = []

    def __call__(self, command):
        self.commands.append(command)
        options = dict(word[2:].split("=", 1) for word in command if word.startswith("--"))
        if "xgan.train" in command:
            run_dir, epochs = Path(options["run_dir"]), int(options["epochs"])
            (run_dir / "export").mkdir(parents=True, exist_ok=True)
            (run_dir / "config.json").write_text(json.dumps({"epochs": epochs}))
            for name in self.ladder.spec.generators:
                (run_dir / "export" / f"{name}.keras").write_text(f"trained {epochs} epochs")
            steps = epochs * self.ladder.config["steps_per_epoch"]
            (run_dir / "backup").mkdir(exist_ok=True)
            (run_dir / "backup" / "training_metadata.json").write_text(json.dumps({"completed_steps": steps}))
        else:
            out = Path(options["out"])
            out.mkdir(parents=True, exist_ok=True)
            means = {"translations": 0.2 + 0.01 * len(self.commands), "chance": 0.2, "oracle": 1.0}
            (out / "semantics.json").write_text(json.dumps({"mean": means}))

    def options(self, module: str) -> list[dict]:
        """{flag: value} of each command that ran `module`."""
        return [
            dict(word[2:].split("=", 1) for word in c if word.startswith("--")) for c in self.commands if module in c
        ]

    def trained_epochs(self) -> list[int]:
        return [int(options["epochs"]) for options in self.options("xgan.train")]

    def scored(self) -> list[tuple[str, str]]:
        """(rung directory, direction) of each scoring."""
        return [
            (Path(options["run_dir"]).name, options["direction"]) for options in self.options("evaluation.semantics")
        ]


@pytest.fixture
def xgan_ladder(tmp_path, monkeypatch):
    ladder = ModelLadder(registry.get("xgan"), (), XGAN_CONFIG, tmp_path)
    fake = FakeCommands(ladder)
    monkeypatch.setattr(quality_ladder, "run_command", fake)
    args, _ = quality_ladder.parse_arguments([f"--runs_dir={tmp_path}", "--models=xgan", "--rungs=1,3,9"])
    return ladder, fake, args


def test_each_rung_trains_the_run_further_keeps_its_export_and_is_scored_both_ways(xgan_ladder):
    ladder, fake, args = xgan_ladder
    quality_ladder.climb(ladder, args, quality_ladder.Progress())

    assert fake.trained_epochs() == [4, 12, 36]
    assert fake.scored() == [(f"rung_{rung}", d) for rung in (1, 3, 9) for d in ("face2cartoon", "cartoon2face")]
    for rung in (1, 3, 9):
        kept = ladder.rung_dir(rung)
        assert (kept / "export" / "face2cartoon.keras").read_text() == f"trained {4 * rung} epochs"
        assert json.loads((kept / "config.json").read_text()) == {"epochs": 4 * rung}
        assert not kept.with_name(kept.name + ".partial").exists()


def test_a_rerun_skips_finished_rungs_and_does_only_what_is_missing(xgan_ladder):
    ladder, fake, args = xgan_ladder
    quality_ladder.climb(ladder, args, quality_ladder.Progress())
    fake.commands.clear()

    quality_ladder.climb(ladder, args, quality_ladder.Progress())
    assert fake.commands == []

    ladder.results_path(3, "cartoon2face").unlink()
    for path in (ladder.rung_dir(9) / "export").iterdir():  # killed after the stage, before its copy was whole
        path.unlink()
    quality_ladder.climb(ladder, args, quality_ladder.Progress())
    assert fake.trained_epochs() == [36]  # the stage's command again: the run has its steps, fit only exports
    assert fake.scored() == [("rung_3", "cartoon2face")]


def test_a_rung_the_run_has_trained_past_cannot_be_kept_again(xgan_ladder):
    ladder, _, args = xgan_ladder
    quality_ladder.climb(ladder, args, quality_ladder.Progress())
    for rung in (1, 3):
        for path in (ladder.rung_dir(rung) / "export").iterdir():
            path.unlink()
    with pytest.raises(LadderError, match=r"trained 5400 steps, past rung 1 \(600 steps\)"):
        quality_ladder.climb(ladder, args, quality_ladder.Progress())


def test_a_run_behind_a_kept_rung_is_not_the_run_it_came_from(xgan_ladder):
    ladder, fake, args = xgan_ladder
    args.rungs = [1]
    quality_ladder.climb(ladder, args, quality_ladder.Progress())
    (ladder.run_dir / "backup" / "training_metadata.json").unlink()  # a run started afresh
    args.rungs = [1, 3]
    with pytest.raises(LadderError, match="fewer than rung 1 kept in"):
        quality_ladder.climb(ladder, args, quality_ladder.Progress())
    assert fake.trained_epochs() == [4]


def test_a_dry_run_prints_every_command_in_order_and_writes_nothing(tmp_path, capsys):
    runs_dir, docs_dir = tmp_path / "runs", tmp_path / "docs"
    assert (
        quality_ladder.main(
            [f"--runs_dir={runs_dir}", f"--docs_dir={docs_dir}", "--models=xgan,cyclegan", "--rungs=1,2", "--dry_run"]
        )
        == 0
    )

    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    ladders = [quality_ladder.model_ladder(model, runs_dir, []) for model in ("xgan", "cyclegan")]
    args, _ = quality_ladder.parse_arguments([f"--runs_dir={runs_dir}", "--rungs=1,2"])
    assert printed == [shlex.join(command) for command in quality_ladder.ladder_commands(ladders, args)]
    assert len(printed) == 2 * 2 * 3 and "--epochs=12" in printed[-3]  # cyclegan's rung 2: 2 x 6 epochs
    assert not runs_dir.exists() and not docs_dir.exists()


def test_bad_flags_are_one_line_errors(capsys):
    for argv, message in [
        (["--models=xgan,pix2pix"], "--models: unknown pix2pix"),
        (["--rungs=1,x"], "--rungs: expected comma-separated positive integers"),
        (["--rungs=0,3"], "--rungs: expected comma-separated positive integers"),
        (["--contact_faces=0"], "--contact_faces must be at least 1"),
    ]:
        with pytest.raises(SystemExit):
            quality_ladder.parse_arguments(argv)
        assert message in capsys.readouterr().err


@pytest.mark.slow  # ~1.5 minutes: two tiny XGAN stages, four scorings with tiny classifiers
def test_a_tiny_xgan_ladder_trains_two_rungs_scores_them_and_draws_the_figures(tmp_path):
    runs_dir, docs_dir = tmp_path / "runs", tmp_path / "docs"
    semantics_flags = "--num_train_images=64 --epochs=1 --num_oracle_images=16 --batch_size=16 --num_examples=2"
    tiny_training = ["--steps_per_epoch=2", "--batch_size=4", "--face_source=synthetic:photo:12"]
    tiny_training += ["--cartoon_source=synthetic:cartoon:12", "--jit_compile=false", "--num_grid_samples=3"]
    command = [sys.executable, "-m", "experiments.quality_ladder", f"--runs_dir={runs_dir}", f"--docs_dir={docs_dir}"]
    command += ["--models=xgan", "--rungs=1,2", "--num_images=8", "--contact_faces=3"]
    command += [f"--semantics_flags={semantics_flags}", "--", *tiny_training]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True)

    assert "xgan: training rung 2 (8 epochs, 16 steps)" in result.stdout
    table = (runs_dir / quality_ladder.TABLE_FILE).read_text()
    for rung, images_seen in ((1, 32), (2, 64)):
        assert json.loads((runs_dir / "xgan" / f"rung_{rung}" / "config.json").read_text())["epochs"] == 4 * rung
        for direction in ("face2cartoon", "cartoon2face"):
            results = json.loads((runs_dir / f"xgan/rung_{rung}/semantics/{direction}/semantics.json").read_text())
            score, chance, oracle = ladder_scores.mean_scores(results)
            fraction = ladder_scores.fraction_of_the_way(score, chance, oracle)
            assert (
                f"| xgan | {direction} | {rung}x | {4 * rung} | {images_seen} | {score:.3f} | {chance:.3f} | "
                f"{oracle:.3f} | {fraction:.3f} |"
            ) in table
    assert sorted(path.name for path in (runs_dir / "classifiers").glob("*.keras")) == [
        "cartoon_64px_classifier.keras",
        "photo_64px_white_classifier.keras",
    ]
    with Image.open(docs_dir / quality_ladder.PLOT_FILE) as plot:
        assert plot.format == "PNG"
    with Image.open(docs_dir / quality_ladder.FACES_FILE) as sheet:
        # Three rows (the photos, rung 1, rung 2) of three 64 px faces, 2 px apart, right of the labels.
        assert sheet.size == (ladder_contact_sheet.LABEL_WIDTH + 3 * 66 - 2, 3 * 66 - 2)

    rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=True)
    assert "training rung" not in rerun.stdout and "scoring rung" not in rerun.stdout
