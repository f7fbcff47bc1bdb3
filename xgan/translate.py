"""Translate faces to cartoons (or back) with a trained XGAN run.

usage: python -m xgan.translate --run_dir RUN --direction face2cartoon \\
           --input FILE_OR_DIR --output DIR [--grid] [--crop none|center|bbox]

Reads <RUN>/export/<direction>.keras (written at the end of `python -m xgan.train`),
prepares each input as in training (crop, 64x64, [-1, 1]) and writes
DIR/<name>.png; unreadable inputs are skipped and listed.
"""

from __future__ import annotations

import sys

from absl import app, flags

from preprocessing.pipeline import CROPS
from training.run import RunLayout
from training.translate import run_translation_cli
from xgan.registration import MODEL

flags.DEFINE_string("run_dir", None, "Run directory of a finished `python -m xgan.train` (holds export/).")
flags.DEFINE_enum("direction", "face2cartoon", MODEL.directions, "Which generator to apply.")
flags.DEFINE_string("input", None, "An image file or a folder of images (recursive).")
flags.DEFINE_string("output", None, "Folder for the translated PNGs (created; never the input folder).")
flags.DEFINE_enum("crop", "none", CROPS, "Crop before resizing to 64x64, as the training flag --<domain>_crop.")
flags.DEFINE_bool("grid", False, "Also write DIR/grid.png: the first inputs above their translations.")
flags.mark_flag_as_required("run_dir")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    generator = RunLayout.open(FLAGS.run_dir).export_path(FLAGS.direction)
    sys.exit(
        run_translation_cli(generator, FLAGS.input, FLAGS.output, FLAGS.crop, FLAGS.direction if FLAGS.grid else None)
    )


if __name__ == "__main__":
    app.run(main)
