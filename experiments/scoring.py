"""What the experiment scripts share: held-out built-in images, and evaluation.score's commands and table cells."""

from __future__ import annotations

import sys
from pathlib import Path

from evaluation.attributes import HELD_OUT_SEED
from evaluation.metrics import KID_SUBSET_SIZE
from preprocessing.image_io import IMAGE_EXTENSIONS
from preprocessing.synthetic.files import write_records


def heldout_records(runs_dir: Path, domain: str, size: int, background: str, count: int) -> Path:
    """RUNS/heldout/<domain>_<size>px_<background>: `count` held-out records of a built-in domain (no run has seen
    them; photos with their annotations.csv), at a run's size and background, written on first use."""
    folder = runs_dir / "heldout" / f"{domain}_{size}px_{background}"
    if len(list(folder.glob("*.png"))) != count:
        write_records(domain, count, folder, size, HELD_OUT_SEED, start_index=0, background=background)
    return folder


def check_uncropped(config: dict, side: str) -> None:
    """Refuse a run trained on cropped images: `heldout_records` writes them whole, and a translator scored on
    images framed unlike its training images would be measured on a task it never learned."""
    crop = config.get(f"{side}_crop", "none")
    if crop != "none":
        raise ValueError(
            f"--{side}_crop={crop}: held-out built-in images are written uncropped; score this run with "
            "evaluation.semantics, which crops them the way the run did"
        )


def image_count(folder: Path) -> int:
    return sum(1 for path in folder.rglob("*") if path.suffix.lower() in IMAGE_EXTENSIONS)


def score_command(real: Path, fake: Path, metrics: str, features: str, image_size: int, output_json: Path, extra=()):
    """evaluation.score of the images in `fake` against those in `real`; KID's subsets at most half the smaller
    set, so that they differ and their spread means something."""
    fewest = min(image_count(real), image_count(fake))
    return [
        *(sys.executable, "-m", "evaluation.score"),
        f"--real=folder:{real}",
        f"--fake=folder:{fake}",
        f"--metrics={metrics}",
        f"--features={features}",
        f"--image_size={image_size}",
        f"--kid_subset_size={max(2, min(KID_SUBSET_SIZE, fewest // 2))}",
        f"--output_json={output_json}",
        *extra,
    ]


def score_cell(metric: str, score: dict) -> str:
    """ "4.21" for FID (one number), "0.0312 ± 0.0021" for KID and IS (mean ± std over subsets or splits)."""
    return f"{score['mean']:.4g}" if metric == "fid" else f"{score['mean']:.4g} ± {score['std']:.2g}"
