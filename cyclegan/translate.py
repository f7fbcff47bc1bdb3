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

from training import translate

translate.define_translation_flags("cyclegan", {"a2b": "G_A, domain A to B", "b2a": "G_B, domain B to A"})
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
    sys.exit(translate.translate_from_flags(FLAGS, compositor_factory()))


if __name__ == "__main__":
    app.run(main)
