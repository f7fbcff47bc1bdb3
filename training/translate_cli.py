"""The `translate` CLI of every registered model that translates images: `python -m <model>.translate`.

    python -m <model>.translate --run_dir RUN [--direction D] --input FILE_OR_DIR --output DIR
        [--crop none|center|bbox] [--grid] [--composite [--mask_dir MASKS]]

Applies <RUN>/export/<direction>.keras (exported at the end of `python -m
<model>.train`) to each input, prepared as in training (crop, the generator's
input size, [-1, 1]), and writes DIR/<name>.png; unreadable inputs are skipped
and listed (`training.translate`). The --direction choices and their help are
the model's registration's (`ModelSpec.directions` and
`direction_descriptions`), the first being the default. --composite keeps each
input's own background: the translation inside a person mask (MediaPipe's
selfie segmentation, or the masks of --mask_dir), the input outside it.

A model package's `translate.py` is one line and the `__main__` guard:

    main = translate_cli.main_for("xgan")
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

from absl import app, flags

from preprocessing import folder_job
from preprocessing.pipeline import CROPS
from training import registry, translate
from training.run import RunLayout


def define_flags(spec: registry.ModelSpec, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The CLI's flags for the model of `spec`, in `flag_values`."""
    descriptions = spec.direction_descriptions or ("",) * len(spec.directions)
    choices = "; ".join(
        f"{direction} ({what})" if what else direction for direction, what in zip(spec.directions, descriptions)
    )
    flags.DEFINE_string(
        "run_dir",
        None,
        f"Run directory of a finished `python -m {spec.name}.train` (holds export/).",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "direction",
        spec.directions[0],
        list(spec.directions),
        f"Which generator to apply: {choices}.",
        flag_values=flag_values,
    )
    flags.DEFINE_string("input", None, "An image file or a folder of images (recursive).", flag_values=flag_values)
    flags.DEFINE_string(
        "output", None, "Folder for the translated PNGs (created; never the input folder).", flag_values=flag_values
    )
    flags.DEFINE_enum(
        "crop",
        "none",
        CROPS,
        "Crop before resizing to the generator's input size, as the training flags --<domain>_crop.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "grid", False, "Also write DIR/grid.png: the first inputs above their translations.", flag_values=flag_values
    )
    flags.DEFINE_bool(
        "composite",
        False,
        "Keep the input's background: the translation inside the person mask of MediaPipe's selfie segmentation "
        "(or of --mask_dir), the input outside it.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "mask_dir",
        None,
        "With --composite: a folder of masks (white = translated), one per input under the same relative path, "
        "any image suffix, instead of the segmenter's.",
        flag_values=flag_values,
    )
    flags.mark_flag_as_required("run_dir", flag_values=flag_values)


def compositor_factory(flag_values: flags.FlagValues) -> Callable[[], translate.Compositor] | None:
    """What makes the --composite / --mask_dir mask source, or None without --composite."""
    if not flag_values.composite:
        return None
    if flag_values.mask_dir:
        return functools.partial(translate.mask_folder, flag_values.mask_dir, flag_values.crop)
    return translate.person_masks


def translate_from_flags(flag_values: flags.FlagValues = flags.FLAGS) -> int:
    """The run's exported generator of --direction over --input into --output; the CLI's exit code."""
    if flag_values.mask_dir and not flag_values.composite:
        print("error: --mask_dir needs --composite", file=sys.stderr)
        return folder_job.EXIT_USAGE
    generator = RunLayout.open(flag_values.run_dir).export_path(flag_values.direction)
    grid_label = flag_values.direction if flag_values.grid else None
    return translate.run_translation_cli(
        generator, flag_values.input, flag_values.output, flag_values.crop, grid_label, compositor_factory(flag_values)
    )


def main_for(model_name: str) -> Callable[[], None]:
    """`python -m <model_name>.translate`'s entry point: defines the CLI's flags for the registered model
    `model_name` (now, in absl's global flags) and returns what parses the command line and translates."""
    define_flags(registry.get(model_name))

    def main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
        sys.exit(translate_from_flags(flags.FLAGS))

    def run() -> None:
        # --help lists the main module's key flags: these, though this module defines them.
        for flag in flags.FLAGS.get_key_flags_for_module(__name__):
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
        app.run(main)

    return run
