"""What the quality ladder's scores say: each scored rung's fraction of the way from chance to the oracle, read from
the reports of `evaluation.semantics`, as a markdown table (with the ladder's commands) and as a plot against the
images seen."""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path

from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from experiments.ladder_rungs import ModelLadder


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
