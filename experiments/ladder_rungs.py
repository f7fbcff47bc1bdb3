"""One model's quality ladder: its run, the rung directories kept from it, how long each rung trains, and the
commands that train and score a rung. `experiments.quality_ladder` climbs it; `experiments.ladder_scores` and
`experiments.ladder_contact_sheet` read the rungs it keeps."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

from evaluation import provenance_report, semantics
from evaluation.provenance import GuidedDirection, guided_directions
from training import registry
from training.backup import backed_up_steps
from training.run import RunLayout

CLASSIFIERS_DIR = "classifiers"


class LadderError(RuntimeError):
    """A make target, flag or run the ladder cannot use; reported as one line."""


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
    def photo_look(self):
        """The background and crop its photos had in training (an `evaluation.attributes.PhotoLook`), as
        evaluation.semantics finds them."""
        unset = SimpleNamespace(photo_background=None, photo_crop=None, direction=self.photo2cartoon.name)
        if self.guided:
            return provenance_report.photo_look_of(unset, self.config, self.directions)
        return semantics.photo_look_of(unset, self.config)

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
