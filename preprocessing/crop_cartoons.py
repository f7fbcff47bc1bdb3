"""Crop the blank space around cartoon faces (Cartoon Set and alike).

usage: python -m preprocessing.crop_cartoons SRC DST [flags]

Every image under SRC is cut to a square around the drawing: the bounding box
of the alpha channel when the background is transparent, else the box of the
pixels that differ from the background (the colour of the four corners when
they agree, else white); --background_threshold is the tolerance of both.
The box is made square around its centre, grown by --margin on each side,
padded with the background where it leaves the image,
resized to --size x --size and written to DST/<same relative path>.png,
composited on white unless --keep_alpha. A Cartoon Set attribute file
(csNNN.csv beside csNNN.png) is copied beside the output. Unreadable files are
skipped and listed; SRC is never written to.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np
from absl import flags

from preprocessing import cartoonset, folder_job, image_io
from preprocessing.image_io import SquareWindow

CSV_COPIED = "Cartoon Set CSVs copied"
NO_DRAWING = "blank images (no drawing found, whole image kept)"


class Box(NamedTuple):
    """Rows [top, bottom) and columns [left, right) of an image."""

    top: int
    left: int
    bottom: int
    right: int


def mask_bounding_box(mask: np.ndarray) -> Box | None:
    """The smallest box holding every True pixel of an HxW mask; None when there is none."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return Box(int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1)


def background_colour(rgb: np.ndarray, threshold: int) -> np.ndarray:
    """The colour of the four corners when they agree within `threshold`, else white.

    White is the fallback because a drawing that reaches a corner makes the
    corners disagree, and Cartoon Set backgrounds are white once flattened.
    """
    corners = rgb[[0, 0, -1, -1], [0, -1, 0, -1]].astype(np.int16)
    if np.abs(corners - corners[0]).max() <= threshold:
        return np.median(corners, axis=0).astype(np.uint8)
    return np.asarray(image_io.WHITE, np.uint8)


def has_transparent_background(rgba: np.ndarray, threshold: int) -> bool:
    """Whether some pixels are (nearly) transparent, so alpha tells drawing from background."""
    return bool((rgba[..., 3] <= threshold).any())


def drawing_mask(rgba: np.ndarray, threshold: int) -> np.ndarray:
    """HxW bool: the drawing, by alpha when the background is transparent, else by colour."""
    if has_transparent_background(rgba, threshold):
        return rgba[..., 3] > threshold
    rgb = rgba[..., :3]
    difference = np.abs(rgb.astype(np.int16) - background_colour(rgb, threshold).astype(np.int16))
    return difference.max(axis=-1) > threshold


def square_around(box: Box, margin: float) -> SquareWindow:
    """The square centred on `box`, its longer side grown by `margin` of it on each side."""
    longer_side = max(box.bottom - box.top, box.right - box.left)
    side = max(1, int(round(longer_side * (1 + 2 * margin))))
    return SquareWindow((box.left + box.right) / 2, (box.top + box.bottom) / 2, side)


def drawing_window(rgba: np.ndarray, margin: float, threshold: int) -> SquareWindow | None:
    """The square crop around the drawing, or None for a blank image."""
    box = mask_bounding_box(drawing_mask(rgba, threshold))
    return None if box is None else square_around(box, margin)


def padding_colour(rgba: np.ndarray, threshold: int) -> tuple[int, int, int, int]:
    """RGBA to pad with: transparent where the background is, else the background colour."""
    if has_transparent_background(rgba, threshold):
        return (*image_io.WHITE, 0)
    return (*(int(c) for c in background_colour(rgba[..., :3], threshold)), 255)


def crop_cartoon(
    rgba: np.ndarray, size: int, margin: float, threshold: int, keep_alpha: bool
) -> tuple[np.ndarray, bool]:
    """(cropped `size` x `size` image, whether a drawing was found) for one HxWx4 image."""
    window = drawing_window(rgba, margin, threshold)
    found = window is not None
    if not found:
        height, width = rgba.shape[:2]
        window = SquareWindow(width / 2, height / 2, max(height, width))
    cropped = image_io.crop_square(rgba, window, fill=padding_colour(rgba, threshold))
    resized = image_io.resize_square(cropped, size)
    return (resized if keep_alpha else image_io.composite_on(resized)), found


def process_cartoon(path: Path, size: int, margin: float, threshold: int, keep_alpha: bool) -> folder_job.FileResult:
    image, found = crop_cartoon(image_io.read_rgba(path), size, margin, threshold, keep_alpha)
    counters, sidecars = [], []
    attribute_file = cartoonset.csv_path_for(path)
    if attribute_file.is_file():
        counters.append(CSV_COPIED)
        sidecars.append(attribute_file)
    if not found:
        counters.append(NO_DRAWING)
    return folder_job.FileResult(image, counters=tuple(counters), sidecars=tuple(sidecars))


def define_flags() -> None:
    flags.DEFINE_integer("size", 64, "Side of the square output images, in pixels.", lower_bound=1)
    flags.DEFINE_float(
        "margin",
        0.05,
        "Blank space kept on each side of the drawing, as a fraction of its longer side.",
        lower_bound=0.0,
    )
    flags.DEFINE_integer(
        "background_threshold",
        16,
        "Tolerance for the background, in levels (0-255): a pixel whose channels all lie "
        "within this of the background colour (near-white or the corners' colour), or whose "
        "alpha is at most this, counts as background.",
        lower_bound=0,
        upper_bound=254,
    )
    flags.DEFINE_bool(
        "keep_alpha",
        False,
        "Write RGBA PNGs (transparency kept) instead of compositing on white.",
    )


def build_job() -> folder_job.FileJob:
    options = flags.FLAGS
    process = functools.partial(
        process_cartoon,
        size=options.size,
        margin=options.margin,
        threshold=options.background_threshold,
        keep_alpha=options.keep_alpha,
    )
    return folder_job.FileJob(process, counter_names=(CSV_COPIED, NO_DRAWING))


if __name__ == "__main__":
    # Flags are defined here, not on import, so tests can import several CLIs at once.
    define_flags()
    folder_job.run_cli(build_job)
