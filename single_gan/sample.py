"""Draw cartoon faces with a trained DCGAN: a grid of samples, or a walk between two noise vectors.

usage: python -m single_gan.sample --run_dir RUN [--n 64] [--out grid.png] [--seed 0] [--interpolate]

Reads <RUN>/export/generator.keras (written at the end of `python -m single_gan.train`)
and writes one PNG: the n images in rows of --columns, 64x64 each with 2-pixel
white gaps. The same --seed draws the same faces; --seed equal to the training
--seed redraws the training grids' faces. --interpolate draws n images along
the great circle between two noise vectors instead.
"""

from __future__ import annotations

import sys

import keras
import numpy as np
from absl import app, flags

from preprocessing import atomic_files, image_io
from preprocessing.folder_job import EXIT_COMPLETED, EXIT_USAGE
from single_gan.model import fixed_noise
from single_gan.registration import MODEL
from training.export import MissingGeneratorError, check_exported, load_generator
from training.images import grid_image, to_unit_range
from training.run import RunLayout

[GENERATOR] = MODEL.generators  # the one generator a run exports
FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues) -> None:
    """Every flag of the CLI, in `flag_values` (a function, so tests can parse into a fresh FlagValues)."""
    flags.DEFINE_string(
        "run_dir",
        None,
        "Run directory of a finished `python -m single_gan.train` (holds export/).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer("n", 64, "Number of images to draw.", lower_bound=1, flag_values=flag_values)
    flags.DEFINE_string(
        "out", "grid.png", "Path of the PNG to write (parent folders are created).", flag_values=flag_values
    )
    flags.DEFINE_integer(
        "seed",
        0,
        "Seed of the noise vectors; the training --seed redraws the training grids.",
        lower_bound=0,
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "interpolate",
        False,
        "Draw the n images along a spherical interpolation between two noise vectors, instead of n independent ones.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer("columns", 8, "Images per row of the grid.", lower_bound=1, flag_values=flag_values)
    flags.mark_flag_as_required("run_dir", flag_values=flag_values)


def slerp(start: np.ndarray, end: np.ndarray, count: int) -> np.ndarray:
    """`count` points from `start` to `end` (both included) by spherical interpolation (slerp).

    Spherical rather than straight: the midpoint of two Gaussian vectors is
    shorter than a typical sample by ~1/sqrt(2), where the generator has seen
    little noise (White 2016, "Sampling Generative Networks").
    """
    fractions = np.linspace(0.0, 1.0, count, dtype=np.float32)[:, None]
    unit_start, unit_end = start / np.linalg.norm(start), end / np.linalg.norm(end)
    angle = np.arccos(np.clip(np.dot(unit_start, unit_end), -1.0, 1.0))
    if angle < 1e-6:  # parallel to numerical precision: the straight line is the arc
        return (1.0 - fractions) * start + fractions * end
    weights_start = np.sin((1.0 - fractions) * angle) / np.sin(angle)
    weights_end = np.sin(fractions * angle) / np.sin(angle)
    return (weights_start * start + weights_end * end).astype(np.float32)


def sample_noise(count: int, noise_dim: int, seed: int, interpolate: bool = False) -> np.ndarray:
    """[count, noise_dim]: independent vectors, or the walk between two vectors of the seed."""
    if not interpolate:
        return fixed_noise(count, noise_dim, seed)
    start, end = fixed_noise(2, noise_dim, seed)
    return slerp(start, end, count)


def image_grid(images, columns: int) -> np.ndarray:
    """Images [N, H, W, 3] in [-1, 1] -> one uint8 image, `columns` per row, 2-pixel white gaps."""
    rows = [("", to_unit_range(images[start : start + columns])) for start in range(0, len(images), columns)]
    return np.round(grid_image(rows) * 255.0).astype(np.uint8)


def sample_to_file(flag_values: flags.FlagValues) -> int:
    """What the CLI does with parsed flags: writes the grid, prints its path; returns the exit code."""
    try:
        generator_path = check_exported(
            RunLayout.open(flag_values.run_dir).export_path(GENERATOR),
            "train first with `python -m single_gan.train`, which exports it to <run_dir>/export/",
        )
    except MissingGeneratorError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    generator = load_generator(generator_path)
    noise = sample_noise(flag_values.n, generator.input_shape[-1], flag_values.seed, flag_values.interpolate)
    images = keras.ops.convert_to_numpy(generator(noise, training=False))
    image_io.write_png(image_grid(images, flag_values.columns), flag_values.out)
    print(f"{flag_values.n} {'interpolated ' if flag_values.interpolate else ''}samples: {flag_values.out}")
    return EXIT_COMPLETED


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    with atomic_files.write_failures_in_one_line():
        sys.exit(sample_to_file(FLAGS))


if __name__ == "__main__":
    define_flags(FLAGS)
    app.run(main)
