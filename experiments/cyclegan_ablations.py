"""The loss ablations of the face2cartoon/sad2happy CycleGAN report, trained, translated and scored: one table.

usage: python -m experiments.cyclegan_ablations [--runs_dir runs/cyclegan_ablations]
           [--experiments standard,no_cycle,...] [--direction a2b] [--num_images 500]
           [--features inception|classifier] [--metrics fid,kid,is] [--score_flags "..."]
           [-- CYCLEGAN.TRAIN FLAGS]

For each --experiments recipe of `cyclegan.train` (by default the report's
five: standard, no_cycle, cycle_a_only, no_identity, no_cycle_no_identity) it
runs, as a user would:

    python -m cyclegan.train --recipe=E --run_dir=RUNS/E [flags after --]
    python -m cyclegan.translate --run_dir=RUNS/E --direction=a2b --input=TEST_A --output=RUNS/E/test_a2b
    python -m evaluation.score --real=folder:TEST_B --fake=folder:RUNS/E/test_a2b --metrics=... --features=...

and writes RUNS/ablations.md: one row per experiment, one column per score,
labelled with what the scores were computed on, beside the report's Inception
Scores (on its own data). Rerunning resumes unfinished runs and scores again.

TEST_A and TEST_B: a run on --dataset_dir uses its testA/ and testB/; a run on
the built-in faces gets --num_images held-out records of each domain (the same
people in both, no run has seen them), written once to RUNS/heldout/.

--features=inception with --metrics=is is the report's measure: it needs the
ImageNet InceptionV3 weights (a GPU VM, Colab; or --score_flags=
"--inception_weights=PATH"). Where they cannot be had, --features=classifier
--metrics=fid,kid scores on the penultimate features of the target domain's
attribute classifier (built-in faces only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from evaluation.score import features_label
from experiments.scoring import check_uncropped, heldout_records, score_cell, score_command
from training.run import RunLayout

LOSS_ABLATIONS = ("standard", "no_cycle", "cycle_a_only", "no_identity", "no_cycle_no_identity")
SCORES_FILE = "scores.json"
TABLE_FILE = "ablations.md"
# Table 1 of the report: Inception Score (mean, std) of the translated test set, on its own data.
REPORT_INCEPTION_SCORES = {"standard": (2.384, 0.435), "no_cycle_no_identity": (1.344, 0.334)}
METRIC_LABELS = {"fid": "FID", "kid": "KID", "is": "IS"}


def parse_arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(the script's own arguments, the cyclegan.train flags after `--`)."""
    own, train_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs_dir", type=Path, default=Path("runs/cyclegan_ablations"), help="one run per experiment")
    parser.add_argument(
        "--experiments",
        default=",".join(LOSS_ABLATIONS),
        help="comma-separated cyclegan.train --recipe names (default: the report's five loss ablations)",
    )
    parser.add_argument("--direction", choices=("a2b", "b2a"), default="a2b", help="which generator is scored")
    parser.add_argument(
        "--num_images", type=int, default=500, help="held-out images per built-in domain (a --dataset_dir run: all)"
    )
    parser.add_argument(
        "--features",
        choices=("inception", "classifier"),
        default="inception",
        help="inception (InceptionV3), or classifier: the target domain's attribute classifier (no IS)",
    )
    parser.add_argument("--metrics", default="fid,kid,is", help="evaluation.score --metrics")
    parser.add_argument("--score_flags", default="", help="extra evaluation.score flags, space-separated")
    args = parser.parse_args(own)
    args.experiments = [name for name in args.experiments.split(",") if name]
    if args.num_images < 2:
        parser.error(f"--num_images must be at least 2, got {args.num_images}")
    return args, train_flags


def run_dir(args: argparse.Namespace, experiment: str) -> Path:
    return args.runs_dir / experiment


def domain_sides(direction: str) -> tuple[str, str]:
    """("a", "b") for a2b: the run's domain the translations come from, and the one they go to."""
    return (direction[0], direction[-1])


def held_out_folders(args: argparse.Namespace, config: dict) -> tuple[Path, Path]:
    """(inputs to translate, real images of the target domain) for a run's config."""
    source, target = domain_sides(args.direction)
    if config.get("dataset_dir"):
        return (
            Path(config["dataset_dir"]) / f"test{source.upper()}",
            Path(config["dataset_dir"]) / f"test{target.upper()}",
        )
    return tuple(heldout_folder(args, config, side) for side in (source, target))


def builtin_domain(config: dict, side: str) -> str:
    """ "photo" for a run whose --a_source is synthetic:photo; an error for any other source."""
    spec = config[f"{side}_source"]
    kind, _, rest = spec.partition(":")
    if kind != "synthetic":
        raise ValueError(f"--{side}_source={spec}: held-out images exist for built-in domains and --dataset_dir only")
    return rest.partition(":")[0]


def heldout_folder(args: argparse.Namespace, config: dict, side: str) -> Path:
    """--num_images held-out records of a side's built-in domain, at the run's size and with the background it
    trained on (--a_background); a run trained on cropped images is refused."""
    domain, size, background = builtin_domain(config, side), config["image_size"], config[f"{side}_background"]
    check_uncropped(config, side)
    return heldout_records(args.runs_dir, domain, size, background, args.num_images)


def score_features(args: argparse.Namespace, config: dict) -> str:
    """evaluation.score's --features: inception, or <target domain>_classifier."""
    if args.features == "inception":
        return "inception"
    return f"{builtin_domain(config, domain_sides(args.direction)[1])}_classifier"


def translations_dir(args: argparse.Namespace, experiment: str) -> Path:
    return run_dir(args, experiment) / f"test_{args.direction}"


def train_command(args: argparse.Namespace, experiment: str, train_flags: list[str]) -> list[str]:
    """cyclegan.train with the recipe; the flags after `--` come last, so they win."""
    directory = run_dir(args, experiment)
    return [
        sys.executable,
        "-m",
        "cyclegan.train",
        f"--recipe={experiment}",
        f"--run_dir={directory}",
        *train_flags,
    ]


def translate_command(args: argparse.Namespace, experiment: str, inputs: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "cyclegan.translate"),
        f"--run_dir={run_dir(args, experiment)}",
        f"--direction={args.direction}",
        f"--input={inputs}",
        f"--output={translations_dir(args, experiment)}",
    ]


def experiment_score_command(args: argparse.Namespace, experiment: str, real: Path, config: dict) -> list[str]:
    return score_command(
        real,
        translations_dir(args, experiment),
        args.metrics,
        score_features(args, config),
        config["image_size"],
        run_dir(args, experiment) / SCORES_FILE,
        args.score_flags.split(),
    )


def run_experiment(args: argparse.Namespace, experiment: str, train_flags: list[str]) -> dict:
    """Trains (or resumes), translates the test inputs and scores them; returns the scores' JSON."""
    subprocess.run(train_command(args, experiment, train_flags), check=True)
    config = RunLayout.open(run_dir(args, experiment)).read_config()
    inputs, real = held_out_folders(args, config)
    subprocess.run(translate_command(args, experiment, inputs), check=True)
    subprocess.run(experiment_score_command(args, experiment, real, config), check=True)
    return json.loads((run_dir(args, experiment) / SCORES_FILE).read_text())


def markdown_table(scores: dict, metrics: list[str]) -> str:
    """One row per experiment: its scores (mean ± std), and the report's IS where it gave one; then the counts."""
    features = next(iter(scores.values()))[metrics[0]]["features"]
    columns = [f"{METRIC_LABELS[name]} ({features_label(features)})" for name in metrics]
    lines = [
        "| experiment | " + " | ".join(columns) + " | report's IS (InceptionV3, its data) |",
        "| --- | " + " | ".join("---:" for _ in columns) + " | ---: |",
    ]
    for experiment, found in scores.items():
        cells = [score_cell(name, found[name]) for name in metrics]
        report = REPORT_INCEPTION_SCORES.get(experiment)
        cells.append(f"{report[0]} ± {report[1]}" if report else "")
        lines.append(f"| {experiment} | " + " | ".join(cells) + " |")
    counts = {name: found[name]["counts"] for found in scores.values() for name in metrics}
    lines.append("")
    lines.append("Sample counts: " + ", ".join(f"{METRIC_LABELS[name]} n = {counts[name]}" for name in metrics) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args, train_flags = parse_arguments(sys.argv[1:] if argv is None else argv)
    metrics = [name for name in args.metrics.split(",") if name]
    try:
        scores = {experiment: run_experiment(args, experiment, train_flags) for experiment in args.experiments}
    except subprocess.CalledProcessError as error:
        print(f"error: {' '.join(error.cmd[2:4])} ... exited with {error.returncode}", file=sys.stderr)
        return error.returncode
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = markdown_table(scores, metrics)
    (args.runs_dir / TABLE_FILE).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
