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
classifier per domain, image size and photo background: U-GAT-IT's 96 px
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
import dataclasses
import importlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
from absl import flags
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from PIL import Image, ImageDraw

from evaluation import attributes, provenance_report, semantics
from evaluation.attributes import HELD_OUT_SEED
from evaluation.provenance import GuidedDirection, guided_directions
from training import registry
from training.backup import backed_up_steps
from training.export import load_generator
from training.images import grid_image, to_unit_range
from training.run import RunLayout

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
CLASSIFIERS_DIR = "classifiers"
CONTACT_LATENT_SEED = 0  # StarGAN v2's row: the first style evaluation.semantics gives its first sources
SHEET_GAP = 2
LABEL_WIDTH = 120


class LadderError(RuntimeError):
    """A make target, flag or run the ladder cannot use; reported as one line."""


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


# -- one model's ladder ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelLadder:
    """One model's run, its rungs' directories and the commands that train and score them.

    training_flags: the make target's flags and the ladder's training flags, as its command passes them.
    config: what those flags resolve to (the make target's epochs, steps per epoch, batch size, domains).
    """

    spec: registry.ModelSpec
    training_flags: tuple[str, ...]
    config: dict
    runs_dir: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def guided(self) -> bool:
        """Whether the model translates with a style (StarGAN v2), which evaluation.semantics scores its own way."""
        return self.spec.guided_translator is not None

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name / "run"

    def rung_dir(self, rung: int) -> Path:
        return self.runs_dir / self.name / f"rung_{rung}"

    def epochs(self, rung: int) -> int:
        return rung * self.config["epochs"]

    def steps(self, rung: int) -> int:
        return self.epochs(rung) * self.config["steps_per_epoch"]

    def images_seen(self, rung: int) -> int:
        return self.steps(rung) * self.config["batch_size"]

    @property
    def directions(self) -> list[GuidedDirection]:
        """Both directions between its built-in domains, with the synthetic domains each translates between."""
        if self.guided:
            return guided_directions(self.config["domains"], self.config)
        return [
            GuidedDirection(*name.split("2"), *semantics.domains_of(name, None, None, self.config))
            for name in self.spec.directions
        ]

    @property
    def photo2cartoon(self) -> GuidedDirection:
        """The direction that translates photos into cartoons: the contact sheet's."""
        for direction in self.directions:
            if (direction.source_domain, direction.target_domain) == ("photo", "cartoon"):
                return direction
        raise LadderError(
            f"{self.name}: none of {', '.join(d.name for d in self.directions)} turns photos into cartoons"
        )

    @property
    def photo_background(self) -> str:
        """The background its photos had in training (white or keep), as evaluation.semantics finds it."""
        unset = SimpleNamespace(photo_background=None, direction=self.photo2cartoon.name)
        if self.guided:
            return provenance_report.photo_background_of(unset, self.config, self.directions)
        return semantics.photo_background_of(unset, self.config)

    def train_command(self, rung: int) -> list[str]:
        """The make target's command with --epochs = rung x its epochs, into the ladder's run (last, so they win)."""
        return [
            *(sys.executable, "-m", self.spec.train_module),
            *self.training_flags,
            f"--epochs={self.epochs(rung)}",
            f"--run_dir={self.run_dir}",
        ]

    def semantics_out(self, rung: int, direction: str) -> Path:
        return self.rung_dir(rung) / "semantics" / direction

    def results_path(self, rung: int, direction: str) -> Path:
        """Where evaluation.semantics writes the rung's results JSON of `direction`."""
        name = provenance_report.RESULTS_FILE if self.guided else semantics.RESULTS_FILE
        return self.semantics_out(rung, direction) / name

    def semantics_command(self, rung: int, direction: str, num_images: int, extra=()) -> list[str]:
        """evaluation.semantics of the rung's export in `direction`, with the ladder's shared classifier cache.

        A guided model's report goes to <out>/<direction>/, so its --out is the folder above.
        """
        out = self.semantics_out(rung, direction)
        return [
            *(sys.executable, "-m", "evaluation.semantics"),
            f"--run_dir={self.rung_dir(rung)}",
            f"--direction={direction}",
            f"--num_images={num_images}",
            f"--cache_dir={self.runs_dir / CLASSIFIERS_DIR}",
            f"--out={out.parent if self.guided else out}",
            *extra,
        ]

    def rung_trained(self, rung: int) -> bool:
        layout = RunLayout.open(self.rung_dir(rung))
        return layout.config_path.is_file() and all(layout.export_path(name).is_file() for name in self.spec.generators)

    def rung_scored(self, rung: int, direction: str) -> bool:
        return self.results_path(rung, direction).is_file()

    def check_resumable(self, rung: int, lower_rung: int | None) -> None:
        """LadderError unless the run stands between the kept `lower_rung` (None: the start) and `rung`: a stage
        extends the run, it can neither take it back nor redo the lower rungs' stages."""
        done = backed_up_steps(RunLayout.open(self.run_dir).backup_dir)
        if done > self.steps(rung):
            raise LadderError(
                f"{self.run_dir} trained {done} steps, past rung {rung} ({self.steps(rung)} steps), and "
                f"{self.rung_dir(rung)} has no copy of that rung's export: leave rung {rung} out of --rungs, or "
                "start the model's ladder afresh"
            )
        if lower_rung is not None and self.rung_trained(lower_rung) and done < self.steps(lower_rung):
            raise LadderError(
                f"{self.run_dir} trained {done} steps, fewer than rung {lower_rung} kept in "
                f"{self.rung_dir(lower_rung)} ({self.steps(lower_rung)} steps): it is not the run that rung came "
                "from; restore that run, or start the model's ladder afresh"
            )

    def keep_rung(self, rung: int) -> None:
        """Copies the run's config.json and export/ into the rung's directory (whole, or not at all)."""
        source, rung_dir = RunLayout.open(self.run_dir), RunLayout.open(self.rung_dir(rung))
        partial = rung_dir.run_dir.with_name(rung_dir.run_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source.export_dir, partial / source.export_dir.name)
        shutil.copy2(source.config_path, partial / source.config_path.name)
        if rung_dir.export_dir.exists():  # a rung copied before some of its files: replaced by the new copy
            shutil.rmtree(rung_dir.export_dir)
        rung_dir.run_dir.mkdir(parents=True, exist_ok=True)
        for path in partial.iterdir():
            path.replace(rung_dir.run_dir / path.name)
        partial.rmdir()


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


# -- what the scores say --------------------------------------------------------------------------


def fraction_of_the_way(score: float, chance: float, oracle: float) -> float:
    """(score - chance) / (oracle - chance): 0 at chance, 1 at the oracle."""
    return (score - chance) / (oracle - chance)


def mean_scores(results: dict) -> tuple[float, float, float]:
    """(mean accuracy, mean chance, mean oracle) over the attributes of a semantics.json, or of a provenance.json's
    latent-guided translations (scored against their sources, as semantics.json's are)."""
    means = results["latent_guided"]["mean"] if "latent_guided" in results else results["mean"]
    return means["translations"], means["chance"], means["oracle"]


@dataclasses.dataclass(frozen=True)
class LadderPoint:
    """One rung of one model in one direction."""

    model: str
    direction: str
    rung: int
    epochs: int
    images_seen: int
    score: float
    chance: float
    oracle: float

    @property
    def fraction(self) -> float:
        return fraction_of_the_way(self.score, self.chance, self.oracle)


def ladder_points(ladders: list[ModelLadder], rungs: list[int]) -> list[LadderPoint]:
    """Every scored (model, rung, direction), in that order."""
    points = []
    for ladder in ladders:
        for rung in rungs:
            for direction in ladder.directions:
                path = ladder.results_path(rung, direction.name)
                if path.is_file():
                    score = mean_scores(json.loads(path.read_text()))
                    points.append(
                        LadderPoint(
                            ladder.name, direction.name, rung, ladder.epochs(rung), ladder.images_seen(rung), *score
                        )
                    )
    return points


def plot_ladder(points: list[LadderPoint], path: Path) -> None:
    """The fraction of the way from chance to the oracle against the images seen (log scale): a colour per model, a
    line style per direction (its first, photo to cartoon for the built-in models, solid), chance (0) and the oracle
    (1) as reference lines."""
    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.subplots()
    ax.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="chance")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="oracle")
    lines = {}
    for point in points:
        lines.setdefault(point.model, {}).setdefault(point.direction, []).append(point)
    for colour, directions in zip(colormaps["tab10"].colors, lines.values()):
        for linestyle, line in zip(("-", ":"), directions.values()):
            line = sorted(line, key=lambda point: point.images_seen)
            ax.plot(
                [point.images_seen for point in line],
                [point.fraction for point in line],
                color=colour,
                linestyle=linestyle,
                marker="o",
                label=f"{line[0].model} {line[0].direction}",
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("images seen (steps x batch size)")
    ax.set_ylabel("fraction of the way from chance to the oracle")
    ax.set_title("Attribute preservation against training length")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def shown(command: list[str]) -> str:
    """The command as the docs write it: .venv/bin/python for this interpreter."""
    program = ".venv/bin/python" if command[0] == sys.executable else command[0]
    return shlex.join([program, *command[1:]])


def markdown_table(points: list[LadderPoint], ladder_command: list[str], commands: list[list[str]]) -> str:
    """A row per model, rung and direction, what the figures mean, then the ladder's command and those it runs."""
    lines = [
        "| model | direction | rung | epochs | images seen | mean accuracy | chance | oracle | fraction of the way |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {p.model} | {p.direction} | {p.rung}x | {p.epochs} | {p.images_seen:,} | {p.score:.3f} | "
            f"{p.chance:.3f} | {p.oracle:.3f} | {p.fraction:.3f} |"
            for p in points
        ),
        "",
        "Mean accuracy, chance and oracle: means over the attributes of `evaluation.semantics` (StarGAN v2: its "
        "latent-guided translations, scored against their sources). Fraction of the way: (mean accuracy - chance) / "
        "(oracle - chance). Images seen: steps x batch size.",
        "",
        "The ladder, and the commands it runs (each rung's training stage and its scoring, in order):",
        "",
        "```bash",
        shown(ladder_command),
        "```",
        "",
        "```bash",
        *(shown(command) for command in commands),
        "```",
        "",
    ]
    return "\n".join(lines)


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


# -- the contact sheet ----------------------------------------------------------------------------


def cartoon_translator(ladder: ModelLadder, rung: int) -> tuple[int, Callable[[np.ndarray], np.ndarray]]:
    """(input size, photos -> cartoons) of a rung, both in [-1, 1]: the model's exported photo-to-cartoon
    generator, or a guided model's translator in the style of one fixed latent code."""
    direction = ladder.photo2cartoon
    if ladder.guided:
        translator = ladder.spec.guided_translator(ladder.rung_dir(rung))

        def in_fixed_style(photos):
            return translator.with_latent(photos, direction.target_name, 1, CONTACT_LATENT_SEED)[:, 0]

        return translator.image_size, in_fixed_style
    generator = load_generator(RunLayout.open(ladder.rung_dir(rung)).export_path(direction.name))
    return generator.input_shape[1], lambda photos: keras.ops.convert_to_numpy(generator(photos, training=False))


def held_out_photos(count: int, size: int, background: str) -> np.ndarray:
    """Records 0..count-1 of HELD_OUT_SEED's photos, [count, size, size, 3] in [-1, 1]: the first sources every
    model is scored on."""
    return next(iter(attributes.records("photo", count, size, count, HELD_OUT_SEED, background)))["image"].numpy()


def resized(images: np.ndarray, size: int) -> np.ndarray:
    return keras.ops.convert_to_numpy(keras.ops.image.resize(images, (size, size), interpolation="bilinear"))


def contact_rows(ladders: list[ModelLadder], rungs: list[int], count: int) -> list[tuple[str, np.ndarray]]:
    """[(label, images [count, S, S, 3] in [0, 1])]: the held-out photos as the first model saw them, then each
    trained (model, rung)'s translations of them, all at the largest model's size S."""
    translations = []
    for ladder in ladders:
        for rung in (rung for rung in rungs if ladder.rung_trained(rung)):
            size, translate = cartoon_translator(ladder, rung)
            photos = held_out_photos(count, size, ladder.photo_background)
            translations.append((f"{ladder.name} {rung}x", translate(photos)))
    if not translations:
        return []
    cell = max(images.shape[1] for _, images in translations)
    photos = held_out_photos(count, cell, ladders[0].photo_background)
    return [(label, to_unit_range(resized(images, cell))) for label, images in [("photos", photos), *translations]]


def contact_sheet(rows: list[tuple[str, np.ndarray]]) -> Image.Image:
    """The rows top to bottom, SHEET_GAP white pixels apart, each labelled in a LABEL_WIDTH strip on the left."""
    grid = grid_image(rows, gap=SHEET_GAP)
    sheet = Image.new("RGB", (LABEL_WIDTH + grid.shape[1], grid.shape[0]), "white")
    sheet.paste(Image.fromarray(np.round(grid * 255).astype(np.uint8)), (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(sheet)
    height = rows[0][1].shape[1]
    for index, (label, _) in enumerate(rows):
        draw.text((4, index * (height + SHEET_GAP) + height // 2), label, fill="black", anchor="lm")
    return sheet


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
