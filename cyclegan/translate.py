"""Translate images A -> B (or B -> A) with a trained CycleGAN run.

usage: python -m cyclegan.translate --run_dir RUN --direction a2b \\
           --input FILE_OR_DIR --output DIR [--grid] [--composite [--mask_dir MASKS]]

Reads <RUN>/export/<direction>.keras (written at the end of `python -m cyclegan.train`),
prepares each input as in training (crop, the run's image size, [-1, 1]) and
writes DIR/<name>.png; unreadable inputs are skipped and listed. --composite
keeps the original background, as the human-to-anime report did: the
translation inside a person mask (MediaPipe's selfie segmentation, or the
masks of --mask_dir), the input outside it.
"""

from __future__ import annotations

import functools
import sys

from absl import app, flags

from cyclegan.registration import MODEL
from preprocessing.pipeline import CROPS
from training import translate
from training.run import RunLayout

flags.DEFINE_string("run_dir", None, "Run directory of a finished `python -m cyclegan.train` (holds export/).")
flags.DEFINE_enum("direction", "a2b", MODEL.directions, "Which generator to apply: a2b (G_A) or b2a (G_B).")
flags.DEFINE_string("input", None, "An image file or a folder of images (recursive).")
flags.DEFINE_string("output", None, "Folder for the translated PNGs (created; never the input folder).")
flags.DEFINE_enum("crop", "none", CROPS, "Crop before resizing to the run's image size, as the training flag --*_crop.")
flags.DEFINE_bool("grid", False, "Also write DIR/grid.png: the first inputs above their translations.")
flags.DEFINE_bool(
    "composite",
    False,
    "Keep the input's background: the translation inside the person mask of MediaPipe's selfie segmentation "
    "(or of --mask_dir), the input outside it.",
)
flags.DEFINE_string(
    "mask_dir",
    None,
    "With --composite: a folder of masks (white = translated), one per input under the same relative path, "
    "any image suffix, instead of the segmenter's.",
)
flags.mark_flag_as_required("run_dir")
FLAGS = flags.FLAGS


def compositor_factory():
    """The --composite / --mask_dir mask source, or None."""
    if FLAGS.mask_dir and not FLAGS.composite:
        raise app.UsageError("--mask_dir needs --composite")
    if not FLAGS.composite:
        return None
    if FLAGS.mask_dir:
        return functools.partial(translate.mask_folder, FLAGS.mask_dir, FLAGS.crop)
    return translate.person_masks


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    generator = RunLayout.open(FLAGS.run_dir).export_path(FLAGS.direction)
    grid_label = FLAGS.direction if FLAGS.grid else None
    sys.exit(
        translate.run_translation_cli(
            generator, FLAGS.input, FLAGS.output, FLAGS.crop, grid_label, compositor_factory()
        )
    )


if __name__ == "__main__":
    app.run(main)
