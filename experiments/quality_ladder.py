"""The quality ladder: how far each model's translations climb from chance towards the oracle as it trains longer.

usage: python -m experiments.quality_ladder [--runs_dir runs/quality_ladder]
           [--models xgan,cyclegan,ugatit,stargan_v2] [--rungs 1,3,9] [--num_images 500] [--contact_faces 8]
           [--docs_dir docs] [--dry_run] [--semantics_flags "..."] [-- TRAINING FLAGS]

Rung k of a model is its `make` target (make train-xgan, train-cyclegan,
train-ugatit, train-stargan) trained k times as long. The make target's
training command is read from `make -n` (the Makefile is the one place its
flags are written; XGAN_FLAGS and the like, when set in the environment, are
in it as make would pass them), and each model trains ONE run,
RUNS/<model>/run, in stages, one per rung, lowest first; e.g. for XGAN (4
epochs at 1x):

    python -m xgan.train [the make target's flags] [flags after --] --epochs=4 --run_dir=RUNS/xgan/run
    python -m xgan.train [the same flags] --epochs=12 --run_dir=RUNS/xgan/run    (resumes after epoch 4)

The training harness resumes a run from its backup and continues it when
--epochs grows (`training.fit`). After each stage the ladder copies the run's
config.json and export/ (the generators the translators load) into
RUNS/<model>/rung_<k>/, which every tool that reads a run reads as one, and
scores it in both directions with one classifier cache for every model (a
classifier per domain, image size and photo look, background and crop: U-GAT-IT's 96 px
translations are read at 96 px, as docs/evaluation.md scores them):

    python -m evaluation.semantics --run_dir=RUNS/xgan/rung_1 --direction=face2cartoon --num_images=500 \\
        --cache_dir=RUNS/classifiers --out=RUNS/xgan/rung_1/semantics/face2cartoon

A rung's schedule: each stage builds the schedules that depend on --epochs
for the rung's whole length (the learning rate's linear decay over the last
half of CycleGAN's and U-GAT-IT's runs, XGAN's ramp of the encoders' share of
the domain classifier's gradient), and the optimizers resume with their step
counts, so from the stage's first step on every schedule is that of a run
trained for k times the epochs from scratch, at the same step. Before it, the run followed the lower rungs'
schedules: rung 1 is the make target exactly; at rung 3 CycleGAN's and
U-GAT-IT's learning rate, decayed to 0 at the end of rung 1, comes back at the
constant rate (at its decayed value if rung 3's decay has begun) and decays
to 0 again over rung 3's last half. Every rung thus ends, as the make target
does, where its decay ends. What is counted in steps is the make target's at
every rung: StarGAN v2's λ_ds decays to 0 over --diversity_decay_steps (rung
1's 1050 steps) and stays there, XGAN's warm-up, and the moving average of the
generator weights (--ema_decay), which the backup carries across stages.

The score of a rung and direction is the fraction of the way from chance to
the oracle, (score - chance) / (oracle - chance), of the means over the
attributes that `evaluation.semantics` reports (its table's mean row).
StarGAN v2 translates with a style: its figure is the latent-guided one
(each source in 4 random styles, scored against the source's attributes, as
the other models are scored); a reference-guided translation takes attributes
from another person's image by design, so its from-source figure measures how
much the reference is ignored rather than what a translation keeps of its
source.

Outputs: RUNS/quality_ladder.md (a table row per model, rung and direction,
and the commands), DOCS/quality_ladder.png (the fraction of the way against
the images seen, steps x batch size, one line per model and direction) and
DOCS/quality_ladder_faces.png (the same --contact_faces held-out photos in the
first row, then a row per model and rung of their translations to cartoons;
StarGAN v2's in the style of one fixed latent code). A rung is trained once
RUNS/<model>/rung_<k>/export/ holds every generator, scored once each
direction's report exists: a rerun skips finished rungs and resumes the rest.
Flags after `--` go to every model's training command, after the make
target's (tiny settings for a test, say); --semantics_flags to every scoring.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import subprocess
import sys
import time
from pathlib import Path

from absl import flags

from experiments.ladder_contact_sheet import contact_rows, contact_sheet
from experiments.ladder_rungs import LadderError, ModelLadder
from experiments.ladder_scores import ladder_points, markdown_table, plot_ladder
from training import registry

REPO_ROOT = Path(__file__).resolve().parents[1]
# {model: the make target that trains it}
MAKE_TARGETS = {
    "xgan": "train-xgan",
    "cyclegan": "train-cyclegan",
    "ugatit": "train-ugatit",
    "stargan_v2": "train-stargan",
}
TABLE_FILE = "quality_ladder.md"
PLOT_FILE = "quality_ladder.png"
FACES_FILE = "quality_ladder_faces.png"


def parse_arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(the script's own arguments, the training flags after `--`)."""
    own, training_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs_dir", type=Path, default=Path("runs/quality_ladder"), help="one folder per model")
    parser.add_argument("--models", default=",".join(MAKE_TARGETS), help="comma-separated, from the default list")
    parser.add_argument("--rungs", default="1,3,9", help="comma-separated multiples of each make target's epochs")
    parser.add_argument("--num_images", type=int, default=500, help="held-out images evaluation.semantics scores")
    parser.add_argument("--contact_faces", type=int, default=8, help="held-out photos on the contact sheet")
    parser.add_argument("--docs_dir", type=Path, default=Path("docs"), help=f"where {PLOT_FILE} and {FACES_FILE} go")
    parser.add_argument("--dry_run", action="store_true", help="print the commands it would run, run nothing")
    parser.add_argument("--semantics_flags", default="", help="extra evaluation.semantics flags, space-separated")
    args = parser.parse_args(own)
    args.models = [name for name in args.models.split(",") if name]
    unknown = [name for name in args.models if name not in MAKE_TARGETS]
    if unknown or not args.models:
        parser.error(
            f"--models: unknown {', '.join(unknown) or '(none)'}; expected names from {', '.join(MAKE_TARGETS)}"
        )
    try:
        args.rungs = sorted({int(rung) for rung in args.rungs.split(",") if rung})
    except ValueError:
        parser.error(f"--rungs: expected comma-separated positive integers, got {args.rungs!r}")
    if not args.rungs or args.rungs[0] < 1:
        parser.error(f"--rungs: expected comma-separated positive integers, got {args.rungs}")
    for name in ("num_images", "contact_faces"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    return args, training_flags


# -- the make targets' training commands ----------------------------------------------------------


def make_training_flags(target: str, module: str, make_dir: Path = REPO_ROOT) -> list[str]:
    """The flags `make <target>` passes to `python -m <module>`, read from `make -n` (which runs nothing)."""
    try:
        printed = subprocess.run(
            ["make", "--no-print-directory", "-n", "-C", str(make_dir), target],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except FileNotFoundError as error:
        raise LadderError("make not found: the ladder reads each model's training command from `make -n`") from error
    except subprocess.CalledProcessError as error:
        last_line = (error.stderr.strip().splitlines() or [f"exit code {error.returncode}"])[-1]
        raise LadderError(f"make -n {target} failed: {last_line}") from error
    for line in printed.replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        for index in range(len(words) - 1):
            if words[index : index + 2] == ["-m", module]:
                return words[index + 2 :]
    raise LadderError(f"make -n {target}: no command runs `python -m {module}`")


def resolve_training_config(spec: registry.ModelSpec, training_flags: list[str]) -> dict:
    """The config `python -m <spec.train_module> <training_flags>` would train with, without training."""
    train_cli = importlib.import_module(spec.train_module)
    flag_values = flags.FlagValues()
    train_cli.define_flags(flag_values)
    try:
        flag_values([spec.train_module, *training_flags])
    except flags.Error as error:
        raise LadderError(f"{spec.train_module} {shlex.join(training_flags)}: {error}") from error
    return train_cli.resolve_config(flag_values)


def model_ladder(model: str, runs_dir: Path, extra_training_flags: list[str]) -> ModelLadder:
    """The ladder of `model`: its make target's training flags (then `extra_training_flags`) and their config."""
    spec = registry.get(model)
    training_flags = [*make_training_flags(MAKE_TARGETS[model], spec.train_module), *extra_training_flags]
    return ModelLadder(spec, tuple(training_flags), resolve_training_config(spec, training_flags), runs_dir)


# -- running it -----------------------------------------------------------------------------------


class Progress:
    """One line per stage, with the time since the ladder started."""

    def __init__(self):
        self.start = time.monotonic()

    def stage(self, text: str) -> None:
        minutes, seconds = divmod(int(time.monotonic() - self.start), 60)
        print(f"[{minutes // 60}:{minutes % 60:02d}:{seconds:02d}] {text}", flush=True)


def run_command(command: list[str]) -> None:
    """Runs one training or scoring command, its output on the terminal; CalledProcessError if it fails."""
    subprocess.run(command, check=True)


def climb(ladder: ModelLadder, args: argparse.Namespace, progress: Progress) -> None:
    """Trains the model's unfinished rungs, lowest first, keeping each one's export, and scores the unscored ones.

    With --dry_run, prints the commands instead of running them (and the copies as shell comments).
    """
    semantics_flags = args.semantics_flags.split()
    for index, rung in enumerate(args.rungs):
        if not ladder.rung_trained(rung):
            ladder.check_resumable(rung, args.rungs[index - 1] if index else None)
            command = ladder.train_command(rung)
            if args.dry_run:
                print(shlex.join(command))
                print(f"# then copy {ladder.run_dir}/export and config.json to {ladder.rung_dir(rung)}/")
            else:
                progress.stage(
                    f"{ladder.name}: training rung {rung} ({ladder.epochs(rung)} epochs, {ladder.steps(rung)} steps)"
                )
                run_command(command)
                ladder.keep_rung(rung)
        for direction in ladder.directions:
            if ladder.rung_scored(rung, direction.name):
                continue
            command = ladder.semantics_command(rung, direction.name, args.num_images, semantics_flags)
            if args.dry_run:
                print(shlex.join(command))
            else:
                progress.stage(f"{ladder.name}: scoring rung {rung}, {direction.name}")
                run_command(command)


def ladder_commands(ladders: list[ModelLadder], args: argparse.Namespace) -> list[list[str]]:
    """Every command of the ladder, in order, finished or not."""
    semantics_flags = args.semantics_flags.split()
    return [
        command
        for ladder in ladders
        for rung in args.rungs
        for command in (
            ladder.train_command(rung),
            *(ladder.semantics_command(rung, d.name, args.num_images, semantics_flags) for d in ladder.directions),
        )
    ]


# -- the CLI --------------------------------------------------------------------------------------


def write_outputs(
    ladders: list[ModelLadder], args: argparse.Namespace, ladder_command: list[str], progress: Progress
) -> None:
    """The table, the plot and the contact sheet of whatever rungs are trained and scored."""
    progress.stage(f"writing {args.runs_dir / TABLE_FILE}, {args.docs_dir / PLOT_FILE}, {args.docs_dir / FACES_FILE}")
    points = ladder_points(ladders, args.rungs)
    table = markdown_table(points, ladder_command, ladder_commands(ladders, args))
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    (args.runs_dir / TABLE_FILE).write_text(table)
    plot_ladder(points, args.docs_dir / PLOT_FILE)
    rows = contact_rows(ladders, args.rungs, args.contact_faces)
    if rows:
        contact_sheet(rows).save(args.docs_dir / FACES_FILE)
    print(table)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args, training_flags = parse_arguments(argv)
    progress = Progress()
    try:
        ladders = [model_ladder(model, args.runs_dir, training_flags) for model in args.models]
        for ladder in ladders:
            climb(ladder, args, progress)
        if args.dry_run:
            print(
                f"# then write {args.runs_dir / TABLE_FILE}, {args.docs_dir / PLOT_FILE}, {args.docs_dir / FACES_FILE}"
            )
            return 0
        write_outputs(ladders, args, [sys.executable, "-m", __spec__.name, *argv], progress)
    except subprocess.CalledProcessError as error:
        print(f"error: {error.cmd[2]} ({shlex.join(error.cmd[3:])}) exited with {error.returncode}", file=sys.stderr)
        return error.returncode
    except LadderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
