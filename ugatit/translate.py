"""Translate faces to cartoons (or back) with a trained U-GAT-IT run.

usage: python -m ugatit.translate --run_dir RUN --direction face2cartoon \\
           --input FILE_OR_DIR --output DIR [--grid] [--crop none|center|bbox]

Reads <RUN>/export/<direction>.keras (the generator's translation, written at
the end of `python -m ugatit.train`), prepares each input as in training
(crop, the run's image size, [-1, 1]) and writes DIR/<name>.png; unreadable
inputs are skipped and listed.
"""

from __future__ import annotations

import sys

from absl import app, flags

from training.translate import define_translation_flags, translate_from_flags

define_translation_flags("ugatit", {"face2cartoon": "genA2B, faces to cartoons", "cartoon2face": "genB2A, back"})
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    sys.exit(translate_from_flags(FLAGS))


if __name__ == "__main__":
    app.run(main)
