"""A short XGAN run scored by the attribute-preservation benchmark: one row of docs/experiments.md.

usage: python -m experiments.xgan_probe --name NAME [--steps 300] [--num_images 300] [-- XGAN.TRAIN FLAGS]

Trains `python -m xgan.train` for --steps steps of one epoch (batch 16, the
built-in faces, every other setting the train CLI's default unless given after
`--`) into <runs_dir>/<NAME>, then scores its face2cartoon generator with
`python -m evaluation.semantics` on --num_images held-out faces (its report in
<runs_dir>/scores/<NAME>), and prints one
JSON line: the name, the train flags, and the mean attribute accuracy of the
translations beside the oracle and chance. The attribute classifiers are
cached in <runs_dir>/classifiers and shared by every probe. Rerunning a name
resumes its run (a finished one is only scored again).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def parse_arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(the probe's own arguments, the xgan.train flags after `--`)."""
    own, separator, train_flags = _split_at_separator(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True, help="name of the probe: its run directory and its JSON line")
    parser.add_argument("--steps", type=_positive_int, default=300, help="training steps (one epoch of them)")
    parser.add_argument("--batch_size", type=_positive_int, default=16, help="XGAN batch size")
    parser.add_argument("--num_images", type=_positive_int, default=300, help="held-out faces to translate and score")
    parser.add_argument("--direction", default="face2cartoon", help="the exported generator to score")
    parser.add_argument("--runs_dir", type=Path, default=Path("runs/probes"), help="where the probes' runs go")
    parser.add_argument(
        "--semantics_flags",
        default="",
        help="extra evaluation.semantics flags, space-separated (e.g. smaller classifiers for a quick check)",
    )
    return parser.parse_args(own), train_flags


def _split_at_separator(argv: list[str]) -> tuple[list[str], str, list[str]]:
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], "--", argv[index + 1 :]
    return argv, "", []


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def train_command(args: argparse.Namespace, train_flags: list[str]) -> list[str]:
    """The xgan.train command of the probe: its flags after the probe's, so they win."""
    return [
        sys.executable,
        "-m",
        "xgan.train",
        "--epochs=1",
        f"--steps_per_epoch={args.steps}",
        f"--batch_size={args.batch_size}",
        f"--run_dir={args.runs_dir / args.name}",
        *train_flags,
    ]


def scores_dir(args: argparse.Namespace) -> Path:
    return args.runs_dir / "scores" / args.name


def semantics_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        "-m",
        "evaluation.semantics",
        f"--run_dir={args.runs_dir / args.name}",
        f"--direction={args.direction}",
        f"--num_images={args.num_images}",
        f"--out={scores_dir(args)}",
        f"--cache_dir={args.runs_dir / 'classifiers'}",
        *args.semantics_flags.split(),
    ]


def probe(argv: list[str]) -> dict:
    """Trains, scores, and returns the probe's result (what it prints)."""
    from evaluation.semantics import RESULTS_FILE

    args, train_flags = parse_arguments(argv)
    subprocess.run(train_command(args, train_flags), check=True)
    subprocess.run(semantics_command(args), check=True)
    results = json.loads((scores_dir(args) / RESULTS_FILE).read_text())
    return {
        "probe": args.name,
        "steps": args.steps,
        "train_flags": train_flags,
        "direction": args.direction,
        "num_images": results["num_images"],
        **{f"{name}_mean": round(value, 3) for name, value in results["mean"].items()},
    }


def main() -> None:
    try:
        print(json.dumps(probe(sys.argv[1:])))
    except subprocess.CalledProcessError as error:
        print(f"error: {' '.join(error.cmd[1:4])} ... exited with {error.returncode}", file=sys.stderr)
        sys.exit(error.returncode)


if __name__ == "__main__":
    main()
